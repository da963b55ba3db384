package report

import (
	"bufio"
	"encoding/json"
	"io"
	"reflect"
	"strings"

	"github.com/twscope/twscope/analyze"
)

// WriteJSON writes the report as indented JSON, as it renders it: each
// top-level field, and each element of a list (findings, hosts,
// endpoints), is marshalled and written on its own, so that no buffer
// holds the whole report. The bytes are those of a json.Encoder with a
// two-space indent over the whole Result (the test checks it): maps with
// sorted keys, HTML characters escaped, a newline at the end.
func WriteJSON(w io.Writer, res *analyze.Result) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := writeObject(bw, reflect.ValueOf(res).Elem()); err != nil {
		return err
	}
	if _, err := bw.WriteString("\n"); err != nil {
		return err
	}
	return bw.Flush()
}

const (
	jsonIndent = "  "
	jsonInner  = jsonIndent + jsonIndent // an element of a top-level list
)

// writeObject writes a struct's fields as encoding/json does (names and
// omitempty from the tags), lists one element at a time.
func writeObject(w *bufio.Writer, v reflect.Value) error {
	t := v.Type()
	w.WriteString("{")
	n := 0
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "-" && opts == "" {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		fv := v.Field(i)
		if strings.Contains(","+opts+",", ",omitempty,") && jsonEmpty(fv) {
			continue
		}
		if n > 0 {
			w.WriteString(",")
		}
		n++
		key, err := json.Marshal(name)
		if err != nil {
			return err
		}
		w.WriteString("\n" + jsonIndent)
		w.Write(key)
		w.WriteString(": ")
		if err := writeValue(w, fv); err != nil {
			return err
		}
	}
	if n > 0 {
		w.WriteString("\n")
	}
	w.WriteString("}")
	return nil
}

// writeValue writes one top-level field's value: a non-empty list element
// by element, anything else whole.
func writeValue(w *bufio.Writer, v reflect.Value) error {
	if v.Kind() != reflect.Slice || v.Len() == 0 || v.Type().Elem().Kind() == reflect.Uint8 {
		b, err := json.MarshalIndent(v.Interface(), jsonIndent, jsonIndent)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	w.WriteString("[")
	for i := 0; i < v.Len(); i++ {
		if i > 0 {
			w.WriteString(",")
		}
		b, err := json.MarshalIndent(v.Index(i).Interface(), jsonInner, jsonIndent)
		if err != nil {
			return err
		}
		w.WriteString("\n" + jsonInner)
		w.Write(b)
	}
	_, err := w.WriteString("\n" + jsonIndent + "]")
	return err
}

// jsonEmpty is encoding/json's test for omitempty (isEmptyValue), shared
// by WriteJSON and the HTML report's evidence tables.
func jsonEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}
