package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/v2"
)

// FileSuffix ends the name of an environment variable that gives the path
// of a file holding a secret setting's value instead of the value:
// GUIDEDFIX_SMTP__PASSWORD_FILE=/run/credentials/guidedfix/smtp for
// smtp.password, TELEGRAM_BOT_TOKEN_FILE for telegram.token. The file's
// content, without one trailing newline, is the value. Only [Secret]
// settings take it (systemd LoadCredential=, Docker and Kubernetes
// secrets).
const FileSuffix = "_FILE"

// Check loads the configuration like [Load] and returns every problem
// found, each one line naming the key (or the variable or file) at fault,
// the bad value with secrets shown as REDACTED, and what is expected.
// It returns the configuration as far as it could be decoded; it is
// usable only when the list is empty.
func Check(path string) (Config, []error) { return check(path, os.Environ) }

// harnessEnv are GUIDEDFIX_ variables of the project's own tests (not
// settings); they are neither read nor refused.
var harnessEnv = map[string]bool{"GUIDEDFIX_CRASH_SEED": true, "GUIDEDFIX_CRASH_RUNS": true, "GUIDEDFIX_PROC_RACE": true}

func check(path string, environ func() []string) (Config, []error) {
	var problems []error
	bad := func(format string, args ...any) { problems = append(problems, fmt.Errorf(format, args...)) }
	source := map[string]string{} // key -> where its value came from, when not the file
	k := koanf.New(".")
	if path != "" {
		if err := k.Load(file.Provider(path), yaml.Parser()); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return Default(), []error{fmt.Errorf("config: file %s does not exist", path)}
			}
			return Default(), []error{fmt.Errorf("config: file %s: %v", path, oneLine(err))}
		}
		for _, key := range k.Keys() {
			switch {
			case sections[key] && k.Get(key) == nil:
				k.Delete(key) // "slack:" with nothing under it
			case sections[key]:
				bad("config: file %s: %q is a section, not a setting; put its settings under it (e.g. %s)", path, key, firstKey(key))
				k.Delete(key)
			case !known[key]:
				bad("config: file %s: %q is not a setting%s", path, key, suggestKey(key))
				k.Delete(key)
			}
		}
		for key := range known {
			if !sections[key] {
				source[key] = path
			}
		}
	}

	set := func(name, key, value string) {
		if key == "slack.staff_user_ids" || key == "portal.serve.tokens" || key == "store.etcd.endpoints" {
			_ = k.Set(key, splitList(value))
		} else {
			_ = k.Set(key, value)
		}
		source[key] = name
	}
	// The platforms' conventional names first, GUIDEDFIX_ names win.
	env := environ()
	slices.Sort(env)
	for _, pass := range []bool{false, true} {
		for _, kv := range env {
			name, value, _ := strings.Cut(kv, "=")
			if strings.HasPrefix(name, EnvPrefix) != pass || harnessEnv[name] {
				continue
			}
			key, fromFile, err := envKey(name)
			if err != nil {
				problems = append(problems, err)
				continue
			}
			if key == "" || value == "" {
				continue
			}
			if fromFile {
				b, err := os.ReadFile(value)
				if err != nil {
					bad("config: %s: cannot read the secret's file: %v", name, err)
					continue
				}
				file := value
				value = strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
				if value == "" {
					bad("config: %s: the file %s is empty, want the value of %s", name, file, key)
					continue
				}
			}
			set(name, key, value)
		}
	}

	// Decode each setting on its own, so that every bad value is named.
	decodeErr := map[string]bool{}
	for _, key := range k.Keys() {
		one := koanf.New(".")
		_ = one.Set(key, k.Get(key))
		c := Default()
		if err := one.Unmarshal("", &c); err != nil {
			decodeErr[key] = true
			bad("config: %s: %s%s is not %s", key, shownValue(key, k.Get(key)), from(source[key], path), expected(key))
			k.Delete(key)
		}
	}
	cfg := Default()
	if err := k.Unmarshal("", &cfg); err != nil {
		bad("config: %v", oneLine(err)) // not expected: every key decoded alone
	}
	if err := cfg.normalize(); err != nil {
		problems = append(problems, err)
	}
	if err := cfg.Validate(); err != nil {
		for _, e := range unjoin(err) {
			key, _, _ := strings.Cut(e.Error(), ":")
			key, _, _ = strings.Cut(key, " ")
			if decodeErr[key] {
				continue // already reported, and now at its default
			}
			if src := source[key]; src != "" && src != path && !strings.Contains(e.Error(), src) {
				e = fmt.Errorf("%w (from %s)", e, src)
			}
			problems = append(problems, e)
		}
	}
	return cfg, problems
}

// envKey returns the setting a variable sets ("" for a variable that is
// none of guidedfix's), and whether it names the setting's file
// ([FileSuffix]). A GUIDEDFIX_ variable that is not a setting is an
// error, with the likely intended name when there is one.
func envKey(name string) (key string, fromFile bool, err error) {
	base := name
	if strings.HasSuffix(name, FileSuffix) {
		base = strings.TrimSuffix(name, FileSuffix)
	}
	if key, ok := conventionalEnv[base]; ok {
		return key, base != name, nil
	}
	if !strings.HasPrefix(name, EnvPrefix) {
		return "", false, nil
	}
	for _, n := range []string{name, base} {
		key := strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(n, EnvPrefix)), "__", ".")
		if !known[key] || sections[key] {
			continue
		}
		if n == name {
			return key, false, nil
		}
		if fieldType(key) != reflect.TypeFor[Secret]() {
			return "", false, fmt.Errorf("config: %s: only secrets can come from a file; set %s itself", name, EnvName(key))
		}
		return key, true, nil
	}
	key = strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(name, EnvPrefix)), "__", ".")
	if sections[key] {
		return "", false, fmt.Errorf("config: %s is not a setting: %s is a section, set one of its keys (e.g. %s)", name, key, EnvName(firstKey(key)))
	}
	if err := envTypo(name, key); err != nil {
		return "", false, fmt.Errorf("config: %w", err)
	}
	if want := closestKey(key); want != "" {
		return "", false, fmt.Errorf("config: %s is not a setting; did you mean %s?", name, EnvName(want))
	}
	return "", false, fmt.Errorf("config: %s is not a setting (see `guidedfix config example` for every key; levels are separated by \"__\")", name)
}

// closestKey returns the setting whose key equals key once '_' and '.'
// are dropped (GUIDEDFIX_DATADIR for data_dir), or "".
func closestKey(key string) string {
	squash := func(s string) string { return strings.NewReplacer("_", "", ".", "").Replace(s) }
	for _, k := range Keys() {
		if squash(k) == squash(key) {
			return k
		}
	}
	return ""
}

// suggestKey returns "; did you mean KEY?" for a file key that is close to
// a setting, else "".
func suggestKey(key string) string {
	if k := closestKey(key); k != "" {
		return fmt.Sprintf("; did you mean %s?", k)
	}
	return ""
}

// firstKey returns the first setting of a section, sorted.
func firstKey(section string) string {
	for _, k := range Keys() {
		if strings.HasPrefix(k, section+".") {
			return k
		}
	}
	return section
}

// from names where a value came from, for a value not from the file.
func from(src, path string) string {
	if src == "" || src == path {
		return ""
	}
	return " (from " + src + ")"
}

// shownValue quotes a setting's value for a message, REDACTED for a
// secret.
func shownValue(key string, v any) string {
	if fieldType(key) == reflect.TypeFor[Secret]() {
		return `"REDACTED"`
	}
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf("%v", v)
}

// expected says what a setting of key's type takes.
func expected(key string) string {
	switch t := fieldType(key); {
	case t == reflect.TypeFor[time.Duration]():
		return "a duration such as 90s, 15m or 1h30m"
	case t == nil:
		return "a setting"
	case t.Kind() == reflect.Int:
		return "a whole number"
	case t.Kind() == reflect.Bool:
		return "true or false"
	case t.Kind() == reflect.Slice:
		return "a list (in the environment: comma-separated)"
	default:
		return "text"
	}
}

// fieldType returns the Go type of the setting key, or nil.
func fieldType(key string) reflect.Type {
	f, ok := fields[key]
	if !ok {
		return nil
	}
	return f.Type
}

// unjoin returns the errors errors.Join joined, or err alone.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// oneLine puts a multi-line library error on one line.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}
