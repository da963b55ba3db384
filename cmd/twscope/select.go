package main

import (
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/twscope/twscope/analyze"
)

// selectFlags are --server, --client, --since and --until: which
// connections every output is about (analyze.Selection).
type selectFlags struct {
	server, client string
	since, until   string
}

func (s *selectFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&s.server, "server", "", "only connections to this server: `HOST[:PORT]` (IPv4, IPv6 as [addr]:port, a CIDR prefix, or :PORT for any host)")
	fl.StringVar(&s.client, "client", "", "only connections from this client: `HOST` (an IPv4 or IPv6 address or a CIDR prefix)")
	fl.StringVar(&s.since, "since", "", "only connections with a packet at or after `TIME`: RFC 3339 (2026-11-21T22:59:30Z) or +DURATION after the capture's first packet (+30s)")
	fl.StringVar(&s.until, "until", "", "only connections with a packet at or before `TIME` (as --since)")
}

// apply sets the selection of o, or returns a usage error.
func (s *selectFlags) apply(o *analyze.Options) error {
	sel := &o.Select
	var err error
	if s.server != "" {
		if sel.Server, sel.ServerPort, err = parseHostPort(s.server); err != nil {
			return usageError(fmt.Errorf("--server %q: %w", s.server, err))
		}
	}
	if s.client != "" {
		if sel.Client, err = parseHost(s.client); err != nil {
			return usageError(fmt.Errorf("--client %q: %w", s.client, err))
		}
	}
	if sel.Since, err = parseWindowTime(s.since); err != nil {
		return usageError(fmt.Errorf("--since %q: %w", s.since, err))
	}
	if sel.Until, err = parseWindowTime(s.until); err != nil {
		return usageError(fmt.Errorf("--until %q: %w", s.until, err))
	}
	if sel.Since.Set && sel.Until.Set && sel.Since.Relative == sel.Until.Relative && sel.Until.At < sel.Since.At {
		return usageError(fmt.Errorf("--until %s is before --since %s", s.until, s.since))
	}
	return nil
}

// parseHostPort reads HOST[:PORT]: an address or prefix, IPv6 in
// brackets when a port follows ([2001:db8::1]:443, [2001:db8::/32]:443),
// or :PORT alone for any host.
func parseHostPort(s string) (netip.Prefix, uint16, error) {
	host, port := s, ""
	switch {
	case strings.HasPrefix(s, "["):
		end := strings.Index(s, "]")
		if end < 0 {
			return netip.Prefix{}, 0, fmt.Errorf("missing ]")
		}
		host, port = s[1:end], s[end+1:]
		if port != "" {
			if !strings.HasPrefix(port, ":") {
				return netip.Prefix{}, 0, fmt.Errorf("want [IPv6]:PORT")
			}
			port = port[1:]
		}
	case strings.Count(s, ":") == 1: // IPv4 or a prefix with a port, or :PORT
		host, port, _ = strings.Cut(s, ":")
	}
	var p netip.Prefix
	if host != "" {
		var err error
		if p, err = parseHost(host); err != nil {
			return p, 0, err
		}
	}
	var n uint64
	if port != "" {
		var err error
		n, err = strconv.ParseUint(port, 10, 16)
		if err != nil || n == 0 {
			return p, 0, fmt.Errorf("port %q is not 1-65535", port)
		}
	}
	if !p.IsValid() && n == 0 {
		return p, 0, fmt.Errorf("want an address, a prefix or :PORT")
	}
	return p, uint16(n), nil
}

// parseHost reads an IPv4 or IPv6 address (a prefix of its full length)
// or a CIDR prefix. IPv4-mapped IPv6 addresses are taken as IPv4, as
// the tracker keeps them. Host names are not looked up: a capture holds
// addresses.
func parseHost(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return p, fmt.Errorf("not a CIDR prefix")
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("not an IP address (host names are not looked up)")
	}
	a = a.Unmap().WithZone("")
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// parseWindowTime reads an RFC 3339 time or +DURATION (after the
// capture's first packet); "" is no bound.
func parseWindowTime(s string) (analyze.WindowTime, error) {
	if s == "" {
		return analyze.WindowTime{}, nil
	}
	if rest, ok := strings.CutPrefix(s, "+"); ok {
		d, err := time.ParseDuration(rest)
		if err != nil || d < 0 {
			return analyze.WindowTime{}, fmt.Errorf("want +DURATION such as +30s or +1m30s")
		}
		return analyze.WindowTime{Set: true, Relative: true, At: int64(d)}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return analyze.WindowTime{}, fmt.Errorf("want an RFC 3339 time (2026-11-21T22:59:30Z) or +DURATION after the capture's start (+30s)")
	}
	return analyze.WindowTime{Set: true, At: t.UnixNano()}, nil
}

// checkCaptureArgs turns a directory given as a capture into a usage
// error with a hint: the shell expands dir/*.pcap, twscope does not walk
// directories.
func checkCaptureArgs(files []string) error {
	for _, f := range files {
		if f == "-" {
			continue
		}
		if st, err := os.Stat(f); err == nil && st.IsDir() {
			d := strings.TrimRight(f, "/")
			return usageError(fmt.Errorf("%s is a directory: give the captures in it, e.g. %s/*.pcap (or %s/*.pcapng, %s/*.pcap.gz)", f, d, d, d))
		}
	}
	return nil
}
