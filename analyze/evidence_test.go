package analyze

import (
	"reflect"
	"strings"
	"testing"
)

// TestEvidenceTypes: every finding kind has its evidence struct, which
// says it is of that kind, and declares its fields in the order of their
// JSON keys, so that the report lists them sorted as it always has.
func TestEvidenceTypes(t *testing.T) {
	types := EvidenceTypes()
	if len(types) != len(Kinds) {
		t.Errorf("%d evidence types for %d kinds", len(types), len(Kinds))
	}
	for _, kind := range Kinds {
		ev, ok := types[kind]
		if !ok {
			t.Errorf("%s: no evidence type", kind)
			continue
		}
		if ev.Kind() != kind {
			t.Errorf("%s: evidence %T says kind %s", kind, ev, ev.Kind())
		}
		typ := reflect.TypeOf(ev).Elem()
		prev := ""
		for i := range typ.NumField() {
			f := typ.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" {
				t.Errorf("%s: field %s has no JSON key", kind, f.Name)
				continue
			}
			if name <= prev {
				t.Errorf("%s: key %s declared after %s: keep the fields in key order", kind, name, prev)
			}
			prev = name
		}
	}
}

func TestSeverityRank(t *testing.T) {
	for i, s := range Severities {
		if s.Rank() != i {
			t.Errorf("%s ranks %d, want %d", s, s.Rank(), i)
		}
	}
	if SeverityCritical.Rank() >= SeverityWarning.Rank() || SeverityWarning.Rank() >= SeverityInfo.Rank() {
		t.Error("critical, warning, info must rank in that order")
	}
	if Severity("bogus").Rank() != len(Severities) {
		t.Error("an unknown severity must rank after all")
	}
}
