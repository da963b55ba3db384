package analyze

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Profile is how long a system keeps a socket in TIME_WAIT (2*MSL).
type Profile struct {
	Name     string
	TimeWait time.Duration
	Source   string // where the length comes from
}

// Profiles are the TIME_WAIT lengths of domain.md section 2.
var Profiles = map[string]Profile{
	"linux":   {"linux", 60 * time.Second, "TCP_TIMEWAIT_LEN, fixed in the kernel; tcp_fin_timeout does not change it"},
	"windows": {"windows", 120 * time.Second, "TcpTimedWaitDelay registry setting (default 120 s; 240 s on old releases)"},
	"freebsd": {"freebsd", 60 * time.Second, "2 * net.inet.tcp.msl (30 s)"},
	"macos":   {"macos", 30 * time.Second, "2 * net.inet.tcp.msl (15 s)"},
	"rfc793":  {"rfc793", 240 * time.Second, "MSL = 2 minutes (RFC 793)"},
}

// ProfileNames lists the profiles in a stable order, for help texts.
func ProfileNames() []string {
	names := make([]string, 0, len(Profiles))
	for n := range Profiles {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// LookupProfile returns the named profile, with its TIME_WAIT replaced by
// override when that is positive.
func LookupProfile(name string, override time.Duration) (Profile, error) {
	p, ok := Profiles[strings.ToLower(name)]
	if !ok {
		return Profile{}, fmt.Errorf("unknown profile %q (one of %s)", name, strings.Join(ProfileNames(), ", "))
	}
	if override > 0 {
		p.TimeWait = override
		p.Source = "set with --time-wait"
	}
	return p, nil
}
