package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"time"
)

// JUnitSuite is one group of test cases: the golden comparison of a check
// run, or the --fail-on rules.
type JUnitSuite struct {
	Name  string
	Time  time.Duration
	Cases []JUnitCase
}

// JUnitCase is one comparison or rule. At most one of Failure (the
// comparison found a difference, the rule's threshold was passed) and
// Error (the captures could not be read) is set.
type JUnitCase struct {
	Classname string
	Name      string
	Failure   *JUnitProblem
	Error     *JUnitProblem
}

// JUnitProblem is the message (one line), type and full text of a failure
// or error.
type JUnitProblem struct {
	Message string
	Type    string
	Text    string
}

type junitTestsuites struct {
	XMLName  xml.Name         `xml:"testsuites"`
	Name     string           `xml:"name,attr"`
	Tests    int              `xml:"tests,attr"`
	Failures int              `xml:"failures,attr"`
	Errors   int              `xml:"errors,attr"`
	Time     string           `xml:"time,attr"`
	Suites   []junitTestsuite `xml:"testsuite"`
}

type junitTestsuite struct {
	Name     string          `xml:"name,attr"`
	Tests    int             `xml:"tests,attr"`
	Failures int             `xml:"failures,attr"`
	Errors   int             `xml:"errors,attr"`
	Skipped  int             `xml:"skipped,attr"`
	Time     string          `xml:"time,attr"`
	Cases    []junitTestcase `xml:"testcase"`
}

type junitTestcase struct {
	Classname string        `xml:"classname,attr"`
	Name      string        `xml:"name,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",cdata"`
}

// WriteJUnit writes the suites as JUnit XML, in the shape CI systems
// (Jenkins, GitLab, GitHub test reporters) read: testsuites > testsuite >
// testcase > failure|error, with the counts the common JUnit XSD requires.
func WriteJUnit(w io.Writer, suites []JUnitSuite) error {
	secs := func(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }
	out := junitTestsuites{Name: "twscope", Suites: []junitTestsuite{}}
	var total time.Duration
	for _, s := range suites {
		ts := junitTestsuite{Name: s.Name, Time: secs(s.Time), Cases: []junitTestcase{}}
		for _, c := range s.Cases {
			tc := junitTestcase{Classname: c.Classname, Name: c.Name, Time: "0.000"}
			if c.Failure != nil {
				tc.Failure = &junitProblem{c.Failure.Message, c.Failure.Type, c.Failure.Text}
				ts.Failures++
			} else if c.Error != nil {
				tc.Error = &junitProblem{c.Error.Message, c.Error.Type, c.Error.Text}
				ts.Errors++
			}
			ts.Tests++
			ts.Cases = append(ts.Cases, tc)
		}
		out.Tests += ts.Tests
		out.Failures += ts.Failures
		out.Errors += ts.Errors
		total += s.Time
		out.Suites = append(out.Suites, ts)
	}
	out.Time = secs(total)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
