package config

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Binder binds settings to a flag.FlagSet. Each flag's default is taken from its environment
// variable when that is set, so a flag on the command line wins over the environment, which
// wins over the built-in default.
type Binder struct {
	fs     *flag.FlagSet
	lookup func(string) (string, bool)
	errs   []error
}

// NewBinder returns a Binder over fs that reads the environment through lookup (os.LookupEnv in
// production, a map in tests).
func NewBinder(fs *flag.FlagSet, lookup func(string) (string, bool)) *Binder {
	return &Binder{fs: fs, lookup: lookup}
}

// Var binds any flag.Value.
func (b *Binder) Var(v flag.Value, name, env, usage string) {
	if raw, ok := b.lookup(env); ok {
		if err := v.Set(raw); err != nil {
			b.errs = append(b.errs, fmt.Errorf("$%s: %w", env, err))
		}
	}
	b.fs.Var(v, name, usage+" ($"+env+")")
}

// String binds a string setting.
func (b *Binder) String(p *string, name, env, usage string) {
	b.Var((*stringValue)(p), name, env, usage)
}

// StringList binds a comma-separated list setting.
func (b *Binder) StringList(p *[]string, name, env, usage string) {
	b.Var((*listValue)(p), name, env, usage)
}

// Int binds an int setting.
func (b *Binder) Int(p *int, name, env, usage string) { b.Var((*intValue)(p), name, env, usage) }

// Int64 binds an int64 setting.
func (b *Binder) Int64(p *int64, name, env, usage string) { b.Var((*int64Value)(p), name, env, usage) }

// Duration binds a time.Duration setting, written like "90s" or "6h".
func (b *Binder) Duration(p *time.Duration, name, env, usage string) {
	b.Var((*durationValue)(p), name, env, usage)
}

// Parse parses args and returns the first error from the environment or the command line.
func (b *Binder) Parse(args []string) error {
	if len(b.errs) > 0 {
		return b.errs[0]
	}
	return b.fs.Parse(args)
}

type stringValue string

func (v *stringValue) String() string     { return string(*v) }
func (v *stringValue) Set(s string) error { *v = stringValue(s); return nil }

type listValue []string

func (v *listValue) String() string { return strings.Join(*v, ",") }
func (v *listValue) Set(s string) error {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	*v = out
	return nil
}

type intValue int

func (v *intValue) String() string { return strconv.Itoa(int(*v)) }
func (v *intValue) Set(s string) error {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("%q is not a whole number", s)
	}
	*v = intValue(n)
	return nil
}

type int64Value int64

func (v *int64Value) String() string { return strconv.FormatInt(int64(*v), 10) }
func (v *int64Value) Set(s string) error {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return fmt.Errorf("%q is not a whole number", s)
	}
	*v = int64Value(n)
	return nil
}

type durationValue time.Duration

func (v *durationValue) String() string { return time.Duration(*v).String() }
func (v *durationValue) Set(s string) error {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("%q is not a duration such as 90s or 6h", s)
	}
	*v = durationValue(d)
	return nil
}
