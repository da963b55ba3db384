package report

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/twscope/twscope/analyze"
)

// MetricsTopN is how many endpoints and hosts the metrics name by
// default: labels per endpoint or host are a time series each, so only
// the busiest are exported (the totals cover every one).
const MetricsTopN = 10

// MetricsOptions shape WriteMetrics' output.
type MetricsOptions struct {
	TopN int // endpoints (by connections) and hosts (by TIME_WAIT peak) named
}

// WriteMetrics writes the result as OpenMetrics text (gauges: the figures
// of one analysis, ending in "# EOF"), which node_exporter's textfile
// collector reads too: connections and closes, who held TIME_WAIT, final
// ACKs, findings by kind and severity, and the top endpoints and hosts.
// When every capture comes from one capture point, each sample carries it
// as the capture_point label.
func WriteMetrics(w io.Writer, res *analyze.Result, opts MetricsOptions) error {
	m := &metrics{w: bufio.NewWriter(w)}
	if p := onePoint(res); p != "" {
		m.base = `capture_point="` + escapeLabel(p) + `"`
	}
	t := res.Totals
	m.family("twscope_build_info", "The twscope version and TIME_WAIT profile of the analysis.")
	m.sample("twscope_build_info", 1, "tool", res.Tool, "profile", res.Profile.Name)
	m.family("twscope_time_wait_length_seconds", "The TIME_WAIT length the analysis judged by.")
	m.sample("twscope_time_wait_length_seconds", res.Profile.TimeWaitS)
	m.family("twscope_packets", "Packets read, and TCP packets among them.")
	m.sample("twscope_packets", float64(t.Packets), "proto", "all")
	m.sample("twscope_packets", float64(t.TCPPackets), "proto", "tcp")
	m.family("twscope_connections", "Connection incarnations seen in the capture, and those without a handshake in it.")
	m.sample("twscope_connections", float64(t.Connections), "handshake", "all")
	m.sample("twscope_connections", float64(t.Partial), "handshake", "missing")
	m.family("twscope_closes", "Incarnations by how they closed.")
	m.counts("twscope_closes", "close", res.Closes.ByKind, closeKindNames)
	m.family("twscope_closes_first", "Incarnations by who closed first.")
	m.counts("twscope_closes_first", "closer", res.Closes.ByCloser, sideNames)
	m.family("twscope_time_wait_holders", "Incarnations by who held TIME_WAIT after them.")
	m.counts("twscope_time_wait_holders", "holder", res.Closes.TimeWaitHolders, sideNames)
	m.family("twscope_final_acks", "Incarnations by what became of the final ACK.")
	m.counts("twscope_final_acks", "final_ack", res.Closes.FinalAck, finalAckNames)
	m.family("twscope_findings", "Findings by kind and severity, listed in the report or not.")
	counts := map[[2]string]int{}
	for _, c := range res.Counts() {
		counts[[2]string{c.Kind, string(c.Severity)}] += c.Count
	}
	for _, kind := range analyze.Kinds {
		for _, sev := range severityNames {
			m.sample("twscope_findings", float64(counts[[2]string{kind, sev}]), "kind", kind, "severity", sev)
		}
	}

	eps := res.Endpoints[:min(len(res.Endpoints), opts.TopN)] // already busiest first
	m.family("twscope_endpoint_connections", fmt.Sprintf("Connections of the %d busiest server endpoints.", opts.TopN))
	for _, e := range eps {
		m.sample("twscope_endpoint_connections", float64(e.Connections), "server", e.Server)
	}
	m.family("twscope_endpoint_closes_first", "Connections of the busiest server endpoints by who closed first.")
	for _, e := range eps {
		m.counts("twscope_endpoint_closes_first", "closer", e.Closer, sideNames, "server", e.Server)
	}
	m.family("twscope_endpoint_time_wait_holders", "Connections of the busiest server endpoints by who held TIME_WAIT.")
	for _, e := range eps {
		m.counts("twscope_endpoint_time_wait_holders", "holder", e.TimeWaitHolders, sideNames, "server", e.Server)
	}
	hosts := append([]analyze.Host(nil), res.Hosts...)
	sort.SliceStable(hosts, func(i, j int) bool { return hosts[i].PeakTimeWait > hosts[j].PeakTimeWait })
	hosts = hosts[:min(len(hosts), opts.TopN)]
	m.family("twscope_host_time_wait_peak", fmt.Sprintf("The most sockets in TIME_WAIT at once, for the %d hosts with the highest peaks.", opts.TopN))
	for _, h := range hosts {
		m.sample("twscope_host_time_wait_peak", float64(h.PeakTimeWait), "ip", h.IP)
	}
	m.family("twscope_host_time_wait_held", "TIME_WAITs those hosts held over the capture.")
	for _, h := range hosts {
		m.sample("twscope_host_time_wait_held", float64(h.TimeWaitHeld), "ip", h.IP)
	}
	if last := lastPacket(res); last != 0 {
		m.family("twscope_capture_last_packet_timestamp_seconds", "When the last packet of the captures was taken (Unix time).")
		m.sample("twscope_capture_last_packet_timestamp_seconds", float64(last)/1e9)
	}
	m.w.WriteString("# EOF\n")
	return m.w.Flush()
}

type metrics struct {
	w    *bufio.Writer
	base string // labels on every sample
}

func (m *metrics) family(name, help string) {
	fmt.Fprintf(m.w, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name)
}

// sample writes name{labels} v; labels are name, value pairs.
func (m *metrics) sample(name string, v float64, labels ...string) {
	var ls []string
	if m.base != "" {
		ls = append(ls, m.base)
	}
	for i := 0; i+1 < len(labels); i += 2 {
		ls = append(ls, labels[i]+`="`+escapeLabel(labels[i+1])+`"`)
	}
	m.w.WriteString(name)
	if len(ls) > 0 {
		m.w.WriteString("{" + strings.Join(ls, ",") + "}")
	}
	m.w.WriteString(" " + strconv.FormatFloat(v, 'g', -1, 64) + "\n")
}

// counts writes one sample per value of an enumeration, zeros included,
// so that every series exists in every run.
func (m *metrics) counts(name, label string, c map[string]int, values []string, labels ...string) {
	for _, v := range values {
		m.sample(name, float64(c[v]), append(append([]string{}, labels...), label, v)...)
	}
}

// escapeLabel escapes a label value as OpenMetrics does.
func escapeLabel(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}

// onePoint is the capture point of every capture, or "" when they differ
// or none is named.
func onePoint(res *analyze.Result) string {
	p := ""
	for i, c := range res.Captures {
		if i > 0 && c.CapturePoint != p {
			return ""
		}
		p = c.CapturePoint
	}
	return p
}

// lastPacket is the last packet time over all captures (Unix ns; 0 when
// none).
func lastPacket(res *analyze.Result) int64 {
	var last int64
	for _, c := range res.Captures {
		if c.Last != nil {
			last = max(last, int64(*c.Last))
		}
	}
	return last
}
