package report

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"
	"time"
)

func TestWriteJUnit(t *testing.T) {
	suites := []JUnitSuite{
		{Name: "twscope check golden.json", Time: 1500 * time.Millisecond, Cases: []JUnitCase{
			{Classname: "twscope.check", Name: "settings"},
			{Classname: "twscope.check", Name: "server 10.0.0.1:80", Failure: &JUnitProblem{
				Message: "2 differences", Type: "golden", Text: "line one <&>\nline two ]]> end"}},
		}},
		{Name: "twscope input", Cases: []JUnitCase{
			{Classname: "twscope.input", Name: "read captures", Error: &JUnitProblem{Message: "x.pcap: not a capture", Type: "input"}},
		}},
	}
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, suites); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), xml.Header) {
		t.Errorf("no XML header:\n%s", buf.String())
	}
	var got struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Errors   int `xml:"errors,attr"`
		Suites   []struct {
			Name     string `xml:"name,attr"`
			Tests    int    `xml:"tests,attr"`
			Failures int    `xml:"failures,attr"`
			Errors   int    `xml:"errors,attr"`
			Time     string `xml:"time,attr"`
			Cases    []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
					Text    string `xml:",chardata"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	if got.Tests != 3 || got.Failures != 1 || got.Errors != 1 || len(got.Suites) != 2 {
		t.Errorf("totals tests %d failures %d errors %d suites %d", got.Tests, got.Failures, got.Errors, len(got.Suites))
	}
	s := got.Suites[0]
	if s.Tests != 2 || s.Failures != 1 || s.Errors != 0 || s.Time != "1.500" {
		t.Errorf("suite 0: %+v", s)
	}
	if f := s.Cases[1].Failure; f == nil || f.Text != "line one <&>\nline two ]]> end" || f.Message != "2 differences" {
		t.Errorf("failure read back as %+v", f)
	}
}
