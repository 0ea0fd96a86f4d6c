// Package testfill fills and mutates Go values by reflection, for tests
// that must notice a struct field added later: a deep copy that forgets
// the new field (bot.Session.Clone), or a cache whose copy of a value no
// longer matches the value's JSON round trip (internal/store).
//
// It handles the kinds stored sessions are made of: bool, the integer
// kinds, string, []byte and json.RawMessage, time.Time, structs (exported
// fields only), pointers, slices and maps with string or integer keys. Any
// other kind (interface, float, chan, func...) makes Fill and Mutate panic,
// so that a test using them fails loudly when such a field appears instead
// of silently leaving it zero.
package testfill

import (
	"fmt"
	"reflect"
	"time"
)

// Options shape the values Fill writes.
type Options struct {
	// Empty makes every map and every slice of non-struct elements empty
	// but non-nil (json's omitempty drops them, so a JSON round trip makes
	// them nil); slices of structs then get one element. Without Empty
	// every map and slice gets two elements.
	Empty bool
	// BadString, when positive, makes the BadString-th string Fill writes
	// (1 is the first; map keys count) end in an invalid UTF-8 byte
	// (0xff), which encoding/json replaces with U+FFFD on encode. Fill
	// visits fields in declaration order, so the same number names the
	// same string every time; Fill's Strings result says how many there
	// are.
	BadString int
	// OddTime, when positive, puts the OddTime-th time.Time Fill writes
	// (1 is the first) in OddLocation instead of UTC.
	OddTime int
	// OddLocation is the location of the OddTime-th time; nil means
	// time.Local.
	OddLocation *time.Location
}

// Stats says how many values Fill wrote.
type Stats struct {
	// Values counts every leaf value set (scalars, strings, byte slices,
	// times).
	Values int
	// Strings and Times count the strings (map keys included) and the
	// time.Time values among them.
	Strings, Times int
}

var (
	timeType = reflect.TypeFor[time.Time]()
	// base is the first instant Fill writes; each later one is a second on.
	base = time.Date(2031, time.May, 6, 7, 8, 9, 123456789, time.UTC)
)

// Fill sets every reachable field of *ptr (ptr must be a non-nil pointer)
// to a non-zero value distinct from the others, following o: strings
// "f1", "f2"..., integers 1, 2..., booleans true, times a second apart
// from 2031-05-06T07:08:09.123456789Z, []byte fields a few bytes and
// json.RawMessage (or any []byte type named RawMessage) a JSON string.
// It returns how many values it set. It panics on a kind it does not
// handle (see the package doc).
func Fill(ptr any, o Options) Stats {
	v := reflect.ValueOf(ptr)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		panic("testfill: Fill needs a non-nil pointer")
	}
	f := &filler{o: o}
	f.fill(v.Elem())
	return Stats{Values: f.n, Strings: f.strings, Times: f.times}
}

type filler struct {
	o              Options
	n              int
	strings, times int
}

func (f *filler) next() int { f.n++; return f.n }

func (f *filler) str() string {
	s := fmt.Sprintf("f%d", f.next())
	f.strings++
	if f.strings == f.o.BadString {
		s += "\xff"
	}
	return s
}

func (f *filler) fill(v reflect.Value) {
	t := v.Type()
	if t == timeType {
		f.times++
		loc := time.UTC
		if f.times == f.o.OddTime {
			loc = f.o.OddLocation
			if loc == nil {
				loc = time.Local
			}
		}
		v.Set(reflect.ValueOf(base.Add(time.Duration(f.next()) * time.Second).In(loc)))
		return
	}
	switch t.Kind() {
	case reflect.Bool:
		f.next()
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(f.next() % 100))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(f.next() % 100))
	case reflect.String:
		v.SetString(f.str())
	case reflect.Pointer:
		p := reflect.New(t.Elem())
		f.fill(p.Elem())
		v.Set(p)
	case reflect.Struct:
		for i := range t.NumField() {
			if t.Field(i).IsExported() {
				f.fill(v.Field(i))
			}
		}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			n := f.next()
			b := []byte(fmt.Sprintf("b%d", n))
			if t.Name() == "RawMessage" {
				b = []byte(fmt.Sprintf(`"r%d"`, n))
			}
			if f.o.Empty {
				b = []byte{}
			}
			v.SetBytes(b)
			return
		}
		n := 2
		if f.o.Empty {
			n = 0
			if t.Elem().Kind() == reflect.Struct {
				n = 1
			}
		}
		s := reflect.MakeSlice(t, n, n)
		for i := range n {
			f.fill(s.Index(i))
		}
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(t)
		if !f.o.Empty {
			for range 2 {
				k := reflect.New(t.Key()).Elem()
				f.fill(k)
				e := reflect.New(t.Elem()).Elem()
				f.fill(e)
				m.SetMapIndex(k, e)
			}
		}
		v.Set(m)
	default:
		panic(fmt.Sprintf("testfill: cannot fill a %s (%s)", t, t.Kind()))
	}
}

// Mutate changes, in place, every value reachable from *ptr (ptr must be
// a non-nil pointer): every scalar, every element of every slice and
// byte slice (keeping a json.RawMessage valid JSON), every pointee, and
// every map entry (each value replaced, and one entry added). A deep copy
// of a value shares nothing with it exactly when mutating the copy this
// way leaves the original unchanged. It panics on a kind Fill refuses.
func Mutate(ptr any) {
	v := reflect.ValueOf(ptr)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		panic("testfill: Mutate needs a non-nil pointer")
	}
	mutate(v.Elem())
}

func mutate(v reflect.Value) {
	t := v.Type()
	if t == timeType {
		v.Set(reflect.ValueOf(v.Interface().(time.Time).Add(time.Hour)))
		return
	}
	switch t.Kind() {
	case reflect.Bool:
		v.SetBool(!v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(v.Int() + 1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(v.Uint() + 1)
	case reflect.String:
		v.SetString(v.String() + "m")
	case reflect.Pointer:
		if !v.IsNil() {
			mutate(v.Elem())
		}
	case reflect.Struct:
		for i := range t.NumField() {
			if t.Field(i).IsExported() {
				mutate(v.Field(i))
			}
		}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			b := v.Bytes()
			if t.Name() == "RawMessage" {
				// Keep the JSON string's quotes; change what is inside.
				for i := 1; i < len(b)-1; i++ {
					b[i] = 'm'
				}
				return
			}
			for i := range b {
				b[i]++
			}
			return
		}
		for i := range v.Len() {
			mutate(v.Index(i))
		}
	case reflect.Map:
		if v.IsNil() {
			return
		}
		for _, k := range v.MapKeys() {
			e := reflect.New(t.Elem()).Elem()
			e.Set(v.MapIndex(k))
			mutate(e)
			v.SetMapIndex(k, e)
		}
		k := reflect.New(t.Key()).Elem()
		(&filler{n: 9000}).fill(k)
		e := reflect.New(t.Elem()).Elem()
		(&filler{n: 9100}).fill(e)
		v.SetMapIndex(k, e)
	default:
		panic(fmt.Sprintf("testfill: cannot mutate a %s (%s)", t, t.Kind()))
	}
}
