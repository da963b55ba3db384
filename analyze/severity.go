package analyze

// Severity is how much a finding matters. The JSON, the golden files and
// the rules write its name.
type Severity string

// Severities of findings.
const (
	SeverityInfo     Severity = "info"     // worth knowing, nothing to change
	SeverityWarning  Severity = "warning"  // a risk or a cost worth fixing
	SeverityCritical Severity = "critical" // broken now: errors, data at risk
)

// Severities lists every severity, most severe first: the one order of
// sorting, rules, golden files, text and HTML.
var Severities = [...]Severity{SeverityCritical, SeverityWarning, SeverityInfo}

// Rank is the severity's place in Severities, 0 for the most severe;
// an unknown severity ranks after all.
func (s Severity) Rank() int {
	for i, x := range Severities {
		if x == s {
			return i
		}
	}
	return len(Severities)
}

// String is the severity's name.
func (s Severity) String() string { return string(s) }
