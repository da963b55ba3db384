package report

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/twscope/twscope/analyze"
)

// GoldenSchema is the version of the golden file format. It changes only
// when a field is renamed or removed; a reader refuses a newer one.
const GoldenSchema = 1

// GoldenFormat names the file type inside the file, so that a report or
// some other JSON given as --golden is refused with a clear message.
const GoldenFormat = "twscope-golden"

// Ways of grouping connections into server endpoints in a golden file.
const (
	GroupByEndpoint = "endpoint" // server ip:port
	GroupByPort     = "port"     // server port only ("*:8080"): for servers whose address changes between runs
)

// GroupByNames lists the groupings, for help texts and messages.
func GroupByNames() []string { return []string{GroupByEndpoint, GroupByPort} }

// Golden is the part of an analysis that a CI run compares with a
// previous run: per server endpoint, how its connections closed, and the
// findings counted by kind, endpoint and severity. It leaves out what
// changes from run to run without meaning anything: client ports, ISNs,
// times, frame numbers, connection ids and their order.
type Golden struct {
	Schema   int           `json:"schema"`
	Format   string        `json:"format"`
	Tool     string        `json:"tool"` // informational, not compared
	Profile  GoldenProfile `json:"profile"`
	GroupBy  string        `json:"group_by"`
	Captures []string      `json:"captures"` // informational, not compared
	// Connections counts every incarnation, as totals.connections does.
	Connections int              `json:"connections"`
	Endpoints   []GoldenEndpoint `json:"endpoints"`
	Findings    []GoldenFinding  `json:"findings"`
}

// GoldenProfile is the TIME_WAIT judgement the golden file was made with;
// check uses it unless told otherwise.
type GoldenProfile struct {
	Name      string  `json:"name"`
	TimeWaitS float64 `json:"time_wait_s"`
	PortRange [2]int  `json:"port_range"`
}

// GoldenEndpoint counts one server endpoint's incarnations by each close
// fact of the connection records (contract.md, --conns).
type GoldenEndpoint struct {
	Server          string         `json:"server"`
	Connections     int            `json:"connections"`
	Closer          map[string]int `json:"closer"`
	Close           map[string]int `json:"close"`
	TimeWaitHolders map[string]int `json:"time_wait_holders"`
	FinalAck        map[string]int `json:"final_ack"`
	RSTBy           map[string]int `json:"rst_by"`
}

// GoldenFinding counts the findings of one kind at one server endpoint
// ("" when a finding's connections span several endpoints, as a NAT
// timestamp finding about one client address may).
type GoldenFinding struct {
	Kind     string         `json:"kind"`
	Server   string         `json:"server,omitempty"`
	Count    int            `json:"count"`
	Severity map[string]int `json:"severity"`
}

// GroupBy checks a grouping's name, GroupByEndpoint when empty.
func GroupBy(name string) (string, error) {
	switch name {
	case "":
		return GroupByEndpoint, nil
	case GroupByEndpoint, GroupByPort:
		return name, nil
	}
	return "", fmt.Errorf("unknown grouping %q (one of %s)", name, strings.Join(GroupByNames(), ", "))
}

// endpointKey names a server endpoint as the grouping does.
func endpointKey(groupBy string, server netip.AddrPort) string {
	if groupBy == GroupByPort {
		return "*:" + strconv.Itoa(int(server.Port()))
	}
	return server.String()
}

// GoldenOf is the golden form of res, its endpoints grouped by groupBy
// (see GroupBy). The findings are placed at the endpoint all their
// connections belong to, which needs an analysis with
// analyze.Options.PlaceFindings; without it they are at no endpoint.
func GoldenOf(res *analyze.Result, groupBy string) (*Golden, error) {
	groupBy, err := GroupBy(groupBy)
	if err != nil {
		return nil, err
	}
	g := &Golden{
		Schema: GoldenSchema, Format: GoldenFormat, Tool: res.Tool, GroupBy: groupBy,
		Profile:     GoldenProfile{Name: res.Profile.Name, TimeWaitS: res.Profile.TimeWaitS, PortRange: res.Profile.PortRange},
		Captures:    []string{},
		Connections: res.Totals.Connections,
		Endpoints:   []GoldenEndpoint{},
		Findings:    []GoldenFinding{},
	}
	for _, c := range res.Captures {
		g.Captures = append(g.Captures, c.File)
	}
	endpoints := map[string]*GoldenEndpoint{}
	eps := res.Endpoints
	if res.EndpointsOther != nil { // the endpoints past the bound, summed: their row says the table was folded
		eps = append(eps[:len(eps):len(eps)], *res.EndpointsOther)
	}
	for _, e := range eps {
		key := e.Server
		if e.Addr.IsValid() {
			key = endpointKey(groupBy, e.Addr)
		}
		ge := endpoints[key]
		if ge == nil {
			ge = &GoldenEndpoint{Server: key, Closer: map[string]int{}, Close: map[string]int{},
				TimeWaitHolders: map[string]int{}, FinalAck: map[string]int{}, RSTBy: map[string]int{}}
			endpoints[key] = ge
		}
		ge.Connections += e.Connections
		for _, m := range []struct{ to, from map[string]int }{
			{ge.Closer, e.Closer}, {ge.Close, e.Close}, {ge.TimeWaitHolders, e.TimeWaitHolders},
			{ge.FinalAck, e.FinalAck}, {ge.RSTBy, e.RSTBy},
		} {
			for k, n := range m.from {
				m.to[k] += n
			}
		}
	}
	for _, e := range endpoints {
		g.Endpoints = append(g.Endpoints, *e)
	}
	sort.Slice(g.Endpoints, func(i, j int) bool { return endpointLess(g.Endpoints[i].Server, g.Endpoints[j].Server) })

	type key struct{ kind, server string }
	counts := map[key]*GoldenFinding{}
	add := func(k key, severity string, n int) {
		gf := counts[k]
		if gf == nil {
			gf = &GoldenFinding{Kind: k.kind, Server: k.server, Severity: map[string]int{}}
			counts[k] = gf
		}
		gf.Count += n
		gf.Severity[severity] += n
	}
	for _, f := range res.Findings {
		if res.FindingsOmitted[f.Kind] == 0 {
			add(key{f.Kind, findingEndpoint(groupBy, f)}, f.Severity.String(), 1)
		}
	}
	// A kind with more findings than the report lists is counted whole,
	// at no endpoint: the omitted ones name none.
	for _, c := range res.Counts() {
		if res.FindingsOmitted[c.Kind] > 0 {
			add(key{c.Kind, ""}, c.Severity.String(), c.Count)
		}
	}
	for _, gf := range counts {
		g.Findings = append(g.Findings, *gf)
	}
	sortGoldenFindings(g.Findings)
	return g, nil
}

// findingEndpoint is the one endpoint (as grouped) all of a finding's
// connections belong to, or "".
func findingEndpoint(groupBy string, f analyze.Finding) string {
	key := ""
	for _, s := range f.Servers {
		k := endpointKey(groupBy, s)
		if key != "" && k != key {
			return ""
		}
		key = k
	}
	return key
}

func sortGoldenFindings(fs []GoldenFinding) {
	sort.Slice(fs, func(i, j int) bool {
		if fs[i].Kind != fs[j].Kind {
			return fs[i].Kind < fs[j].Kind
		}
		return endpointLess(fs[i].Server, fs[j].Server)
	})
}

// endpointLess orders endpoints by address, then port ("10.0.0.2:80"
// before "10.0.0.10:80"); names that are not ip:port sort after, by text.
func endpointLess(a, b string) bool {
	pa, erra := netip.ParseAddrPort(a)
	pb, errb := netip.ParseAddrPort(b)
	switch {
	case erra == nil && errb == nil:
		if c := pa.Addr().Compare(pb.Addr()); c != 0 {
			return c < 0
		}
		return pa.Port() < pb.Port()
	case erra == nil:
		return true
	case errb == nil:
		return false
	}
	if len(a) != len(b) && strings.HasPrefix(a, "*:") && strings.HasPrefix(b, "*:") {
		return len(a) < len(b) // "*:80" before "*:443"
	}
	return a < b
}

// WriteGolden writes g as indented JSON, the same bytes for the same
// golden (map keys are sorted by encoding/json).
func WriteGolden(w io.Writer, g *Golden) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(g)
}

// ReadGolden parses a golden file, refusing what is not one.
func ReadGolden(r io.Reader) (*Golden, error) {
	var g Golden
	dec := json.NewDecoder(r)
	if err := dec.Decode(&g); err != nil {
		return nil, fmt.Errorf("not a golden file: %w", err)
	}
	switch {
	case g.Format != GoldenFormat:
		return nil, fmt.Errorf("not a golden file: format %q, want %q (write one with check --update)", g.Format, GoldenFormat)
	case g.Schema < 1 || g.Schema > GoldenSchema:
		return nil, fmt.Errorf("golden file schema %d; this twscope reads schema %d (written by a newer twscope?)", g.Schema, GoldenSchema)
	case g.GroupBy != GroupByEndpoint && g.GroupBy != GroupByPort:
		return nil, fmt.Errorf("golden file: unknown group_by %q (one of %s)", g.GroupBy, strings.Join(GroupByNames(), ", "))
	}
	for _, e := range g.Endpoints {
		if e.Server == "" || e.Connections < 0 {
			return nil, fmt.Errorf("golden file: endpoint without server or with a negative count")
		}
	}
	return &g, nil
}

// Difference is one way an analysis differs from the golden file, as a
// sentence a person reads.
type Difference struct {
	// Group is what the difference is about: "settings", "server
	// 10.0.0.1:80" or "findings"; JUnit reports make one test case of each.
	Group string
	Text  string
}

func (d Difference) String() string { return d.Text }

// Difference groups other than the endpoints.
const (
	GroupSettings = "settings"
	GroupFindings = "findings"
)

// CompareOptions tune Compare.
type CompareOptions struct {
	// Tolerance, in percent, lets counts move a little between runs whose
	// number of connections varies (retries, timing). A close fact differs
	// when its share of the endpoint's connections moved by more than
	// Tolerance percentage points; a connection or finding count when it
	// moved by more than Tolerance percent of the golden count. Whatever
	// was zero and is not, or the reverse, always differs. 0 is exact.
	Tolerance float64
}

// The close facts compared, in the order differences are listed. Facts
// that follow from others are left out so that one change gives one line:
// closer "both" is the simultaneous close, TIME_WAIT held by none follows
// from a RST or an open connection, final ACK seen/not_observed/n/a from
// the close kind.
var goldenFacts = []struct {
	name   string
	values []string
	get    func(*GoldenEndpoint) map[string]int
}{
	{"closer", []string{"server", "client", "none"}, func(e *GoldenEndpoint) map[string]int { return e.Closer }},
	{"close", closeKindNames, func(e *GoldenEndpoint) map[string]int { return e.Close }},
	{"time_wait", []string{"server", "client", "both"}, func(e *GoldenEndpoint) map[string]int { return e.TimeWaitHolders }},
	{"final_ack", []string{"lost", "late"}, func(e *GoldenEndpoint) map[string]int { return e.FinalAck }},
	{"rst_by", []string{"server", "client", "both"}, func(e *GoldenEndpoint) map[string]int { return e.RSTBy }},
}

// factPhrase says what a close fact means for server s, as a subject and
// a verb in the present tense: ("server 10.0.0.1:80", "closes first").
func factPhrase(fact, value, s string) (subject, verb string) {
	clients, conns, both := "clients of "+s, "connections to "+s, "both "+s+" and its clients"
	switch fact + ":" + value {
	case "closer:server":
		return s, "closes first"
	case "closer:client":
		return clients, "close first"
	case "closer:none":
		return conns, "end without a FIN from either side"
	case "close:fin":
		return conns, "close with FINs both ways"
	case "close:simultaneous":
		return conns, "close simultaneously (FINs crossed)"
	case "close:rst":
		return conns, "end with a RST"
	case "close:half":
		return conns, "stay half-closed (one FIN)"
	case "close:open":
		return conns, "stay open to the end of the capture"
	case "time_wait:server":
		return s, "holds TIME_WAIT"
	case "time_wait:client":
		return clients, "hold TIME_WAIT"
	case "time_wait:both":
		return both, "hold TIME_WAIT"
	case "final_ack:lost":
		return conns, "lose the final ACK (the passive closer sent its FIN again)"
	case "rst_by:server":
		return s, "sends a RST"
	case "rst_by:client":
		return clients, "send a RST"
	case "rst_by:both":
		return both, "send a RST"
	}
	return conns, "have " + fact + " " + value
}

// factSentence is one line for a close fact that changed: "server
// 10.0.0.1:80 now closes first in 12 of 40 connections (was 0)", or
// "clients of server 10.0.0.1:80 no longer close first (was 40 of 40
// connections)".
func factSentence(fact, value, label string, old, oldN, cur, curN int) string {
	subject, verb := factPhrase(fact, value, label)
	if cur == 0 {
		return fmt.Sprintf("%s no longer %s (was %d of %d connections)", subject, verb, old, oldN)
	}
	was := strconv.Itoa(old)
	if oldN != curN {
		was = fmt.Sprintf("%d of %d", old, oldN)
	}
	return fmt.Sprintf("%s now %s in %d of %d connections (was %s)", subject, verb, cur, curN, was)
}

// ServerLabel names an endpoint in a sentence and a JUnit test case:
// "server 10.0.0.1:80", or "server port 80" when grouped by port.
func ServerLabel(key string) string {
	if port, ok := strings.CutPrefix(key, "*:"); ok {
		return "server port " + port
	}
	return "server " + key
}

// Compare lists how cur differs from old, the golden file: settings first,
// then the endpoints in address order with their facts in a fixed order,
// then the findings by kind and endpoint. Equal goldens give none.
func Compare(old, cur *Golden, opt CompareOptions) []Difference {
	var diffs []Difference
	add := func(group, format string, args ...any) {
		diffs = append(diffs, Difference{Group: group, Text: fmt.Sprintf(format, args...)})
	}
	if old.Profile.Name != cur.Profile.Name || old.Profile.TimeWaitS != cur.Profile.TimeWaitS {
		add(GroupSettings, "profile %s with TIME_WAIT %g s (golden file: %s with TIME_WAIT %g s)",
			cur.Profile.Name, cur.Profile.TimeWaitS, old.Profile.Name, old.Profile.TimeWaitS)
	}
	if old.Profile.PortRange != cur.Profile.PortRange {
		add(GroupSettings, "port range %d-%d (golden file: %d-%d)", cur.Profile.PortRange[0], cur.Profile.PortRange[1],
			old.Profile.PortRange[0], old.Profile.PortRange[1])
	}
	if old.GroupBy != cur.GroupBy {
		add(GroupSettings, "connections grouped by %s (golden file: by %s)", cur.GroupBy, old.GroupBy)
	}

	oldEP, curEP := indexEndpoints(old.Endpoints), indexEndpoints(cur.Endpoints)
	for _, key := range unionKeys(oldEP, curEP) {
		o, c := oldEP[key], curEP[key]
		label := ServerLabel(key)
		switch {
		case o == nil:
			add(label, "%s is new: %s", label, endpointSummary(c))
			continue
		case c == nil:
			add(label, "%s is gone: it had %s", label, endpointSummary(o))
			continue
		}
		if countDiffers(o.Connections, c.Connections, opt.Tolerance) {
			add(label, "%s: %d connections (was %d)", label, c.Connections, o.Connections)
		}
		for _, fact := range goldenFacts {
			om, cm := fact.get(o), fact.get(c)
			for _, v := range fact.values {
				if !shareDiffers(om[v], o.Connections, cm[v], c.Connections, opt.Tolerance) {
					continue
				}
				add(label, "%s", factSentence(fact.name, v, label, om[v], o.Connections, cm[v], c.Connections))
			}
		}
	}

	oldF, curF := indexFindings(old.Findings), indexFindings(cur.Findings)
	keys := make([]GoldenFinding, 0, len(oldF)+len(curF))
	for k := range oldF {
		keys = append(keys, GoldenFinding{Kind: k[0], Server: k[1]})
	}
	for k := range curF {
		if oldF[k] == nil {
			keys = append(keys, GoldenFinding{Kind: k[0], Server: k[1]})
		}
	}
	sortGoldenFindings(keys)
	for _, k := range keys {
		o, c := oldF[[2]string{k.Kind, k.Server}], curF[[2]string{k.Kind, k.Server}]
		if o == nil {
			o = &GoldenFinding{}
		}
		if c == nil {
			c = &GoldenFinding{}
		}
		differs := countDiffers(o.Count, c.Count, opt.Tolerance)
		for _, sev := range severityNames {
			differs = differs || countDiffers(o.Severity[sev], c.Severity[sev], opt.Tolerance)
		}
		if !differs {
			continue
		}
		where := ""
		if k.Server != "" {
			where = " at " + ServerLabel(k.Server)
		}
		add(GroupFindings, "finding %s%s: %s (was %s)", k.Kind, where, findingCount(c), findingCount(o))
	}
	return diffs
}

func indexEndpoints(es []GoldenEndpoint) map[string]*GoldenEndpoint {
	m := make(map[string]*GoldenEndpoint, len(es))
	for i := range es {
		m[es[i].Server] = &es[i]
	}
	return m
}

func indexFindings(fs []GoldenFinding) map[[2]string]*GoldenFinding {
	m := make(map[[2]string]*GoldenFinding, len(fs))
	for i := range fs {
		k := [2]string{fs[i].Kind, fs[i].Server}
		if prev := m[k]; prev != nil { // a hand-edited file may repeat a key
			merged := GoldenFinding{Kind: k[0], Server: k[1], Count: prev.Count + fs[i].Count, Severity: map[string]int{}}
			for _, src := range []map[string]int{prev.Severity, fs[i].Severity} {
				for s, n := range src {
					merged.Severity[s] += n
				}
			}
			m[k] = &merged
			continue
		}
		m[k] = &fs[i]
	}
	return m
}

func unionKeys(a, b map[string]*GoldenEndpoint) []string {
	keys := make([]string, 0, len(a)+len(b))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if a[k] == nil {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool { return endpointLess(keys[i], keys[j]) })
	return keys
}

// countDiffers compares two counts: zero against non-zero always differs,
// otherwise a change beyond tol percent of the old count.
func countDiffers(old, cur int, tol float64) bool {
	if old == cur {
		return false
	}
	if old == 0 || cur == 0 || tol <= 0 {
		return true
	}
	return math.Abs(float64(cur-old)) > tol/100*float64(old)+1e-9
}

// shareDiffers compares a fact's count out of the endpoint's connections.
// Zero against non-zero always differs. Otherwise, exactly (tol 0), the
// count must differ and so must its share: when only the number of
// connections changed (20 of 20 and 12 of 12), or only the other facts
// (20 of 20 and 20 of 21), the lines about those say it. With a
// tolerance, the share must move by more than tol percentage points.
func shareDiffers(old, oldN, cur, curN int, tol float64) bool {
	switch {
	case old == 0 || cur == 0:
		return (old == 0) != (cur == 0)
	case tol <= 0:
		return old != cur && old*curN != cur*oldN
	}
	return math.Abs(float64(cur)/float64(curN)-float64(old)/float64(oldN))*100 > tol+1e-9
}

// endpointSummary says in a few words how an endpoint's connections closed.
func endpointSummary(e *GoldenEndpoint) string {
	var parts []string
	for _, fact := range []struct {
		name string
		m    map[string]int
		keys []string
	}{
		{"first to close", e.Closer, sideNames},
		{"close", e.Close, closeKindNames},
	} {
		var vs []string
		for _, k := range fact.keys {
			if n := fact.m[k]; n > 0 {
				vs = append(vs, fmt.Sprintf("%s %d", k, n))
			}
		}
		if len(vs) > 0 {
			parts = append(parts, fact.name+": "+strings.Join(vs, ", "))
		}
	}
	s := fmt.Sprintf("%d connections", e.Connections)
	if e.Connections == 1 {
		s = "1 connection"
	}
	if len(parts) > 0 {
		s += " (" + strings.Join(parts, "; ") + ")"
	}
	return s
}

// findingCount renders a count with its severities: "0", "3 critical",
// "3 (2 critical, 1 warning)".
func findingCount(f *GoldenFinding) string {
	var parts []string
	for _, sev := range severityNames {
		if n := f.Severity[sev]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, sev))
		}
	}
	switch {
	case len(parts) == 0:
		return strconv.Itoa(f.Count)
	case len(parts) == 1 && f.Severity[strings.Fields(parts[0])[1]] == f.Count:
		return parts[0]
	}
	return fmt.Sprintf("%d (%s)", f.Count, strings.Join(parts, ", "))
}
