package corsconfig

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/portico-dev/portico/gateway/policy"
	"go.yaml.in/yaml/v3"
)

// A File is a parsed configuration file: every environment's bindings.
type File struct {
	// Name is the file's name, as given to [ParseFile].
	Name string
	// Environments holds each environment's bindings, by name.
	Environments map[string]Config
}

// Environment returns the bindings of environment env, or an error naming
// the environments the file has.
func (f File) Environment(env string) (Config, error) {
	cfg, ok := f.Environments[env]
	if !ok {
		names := make([]string, 0, len(f.Environments))
		for n := range f.Environments {
			names = append(names, n)
		}
		slices.Sort(names)
		return Config{}, fmt.Errorf("%s: no environment %q (the file has: %s)", f.Name, env, strings.Join(names, ", "))
	}
	return cfg, nil
}

// MaxFileBytes bounds a configuration file: far more than any deployment's
// origins, far less than a mistaken path such as /dev/zero would read.
const MaxFileBytes = 1 << 20

// ParseFile reads a configuration file, named name in errors and sources.
// The file's shape:
//
//	environments:
//	  staging:
//	    origin_sets:
//	      web:
//	        - https://staging.example.com
//	        - https://*.example.dev
//	    report_only:
//	      portico.profile.v1.ProfileService: true
//	      /portico.profile.v1.ProfileService/GetProfile: false
//	  dev:
//	    origin_sets:
//	      web: ["http://localhost:[5173,8080]"]
//
// Unknown keys, duplicate keys, values of the wrong kind, aliases and more
// than one YAML document are errors, each naming "name:line:column". Every
// environment is read, not only the one deployed, so that a mistake in the
// prod section fails in staging first.
func ParseFile(name string, data []byte) (File, error) {
	if len(data) > MaxFileBytes {
		return File{}, fmt.Errorf("%s: %d bytes, more than the %d a configuration file may have", name, len(data), MaxFileBytes)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return File{}, fmt.Errorf("%s: empty file: want an environments: mapping", name)
		}
		return File{}, yamlError(name, data, err)
	}
	var next yaml.Node
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		line := next.Line
		if err != nil {
			return File{}, yamlError(name, data, err)
		}
		return File{}, fmt.Errorf("%s:%d: a second YAML document: write every environment in one document, under environments:", name, line)
	}
	p := &fileParser{name: name}
	f := File{Name: name, Environments: map[string]Config{}}
	if len(doc.Content) == 0 {
		return File{}, fmt.Errorf("%s: empty file: want an environments: mapping", name)
	}
	p.mapping(doc.Content[0], "the file", func(key, value *yaml.Node) {
		if key.Value != "environments" {
			p.errorf(key, "unknown key %q (known: environments)", key.Value)
			return
		}
		p.mapping(value, "environments", func(envKey, section *yaml.Node) {
			if !ValidEnvName(envKey.Value) {
				p.errorf(envKey, "invalid environment name %q: lower case letters, digits and hyphens, starting with a letter", envKey.Value)
				return
			}
			f.Environments[envKey.Value] = p.environment(envKey.Value, section)
		})
	})
	if err := errors.Join(p.errs...); err != nil {
		return File{}, err
	}
	return f, nil
}

// yamlLine matches the line the YAML parser names in its errors.
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)

// yamlError rewrites a YAML parser error as "name:line: reason".
func yamlError(name string, data []byte, err error) error {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		msg = name + ":" + m[1] + ": " + strings.TrimPrefix(msg, m[0])
	} else {
		msg = name + ": " + strings.TrimPrefix(msg, "yaml: ")
	}
	if strings.Contains(msg, "cannot start any token") && bytes.Contains(data, []byte("\t")) {
		msg += " (YAML cannot indent with tabs)"
	}
	return errors.New(msg)
}

type fileParser struct {
	name string
	errs []error
}

func (p *fileParser) at(n *yaml.Node) string {
	return p.name + ":" + strconv.Itoa(n.Line) + ":" + strconv.Itoa(n.Column)
}

func (p *fileParser) errorf(n *yaml.Node, format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf("%s: %s", p.at(n), fmt.Sprintf(format, args...)))
}

// mapping calls each for every key of a mapping node, refusing duplicates
// and non-scalar keys.
func (p *fileParser) mapping(n *yaml.Node, what string, each func(key, value *yaml.Node)) {
	if p.alias(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return // "staging:" with nothing under it
		}
		p.errorf(n, "%s: want a mapping", what)
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, value := n.Content[i], n.Content[i+1]
		if key.Kind != yaml.ScalarNode {
			p.errorf(key, "%s: keys must be plain strings", what)
			continue
		}
		if seen[key.Value] {
			p.errorf(key, "%s: key %q given twice", what, key.Value)
			continue
		}
		seen[key.Value] = true
		each(key, value)
	}
}

func (p *fileParser) environment(env string, section *yaml.Node) Config {
	var cfg Config
	p.mapping(section, "environments."+env, func(key, value *yaml.Node) {
		switch key.Value {
		case "origin_sets":
			p.mapping(value, "origin_sets", func(setKey, members *yaml.Node) {
				if err := policy.CheckOriginSetName(setKey.Value); err != nil {
					p.errorf(setKey, "%v", err)
					return
				}
				cfg.OriginSets = append(cfg.OriginSets, p.members(setKey.Value, members)...)
			})
		case "report_only":
			p.mapping(value, "report_only", func(target, flag *yaml.Node) {
				if p.alias(flag) {
					return
				}
				if err := checkTarget(target.Value); err != nil {
					p.errorf(target, "%v", err)
					return
				}
				var on bool
				if flag.Kind != yaml.ScalarNode || flag.Decode(&on) != nil || flag.Tag != "!!bool" {
					p.errorf(flag, "report_only[%q]: want true or false", target.Value)
					return
				}
				cfg.ReportOnly = append(cfg.ReportOnly, ReportOnly{Target: target.Value, On: on, Source: p.at(target)})
			})
		default:
			p.errorf(key, "unknown key %q (known: origin_sets, report_only)", key.Value)
		}
	})
	return cfg
}

// alias refuses an alias: the file is read by people deciding who may call
// an API, so every value is written out where it applies.
func (p *fileParser) alias(n *yaml.Node) bool {
	if n.Kind == yaml.AliasNode {
		p.errorf(n, "aliases (*%s) are not supported: write the value out", n.Value)
		return true
	}
	return false
}

// members reads an origin set's list. Each origin is its own binding, so
// that an error names its line.
func (p *fileParser) members(set string, n *yaml.Node) []OriginSet {
	if p.alias(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "origin_sets.%s: want a list of origins", set)
		return nil
	}
	var out []OriginSet
	for _, item := range n.Content {
		if p.alias(item) {
			continue
		}
		if item.Kind != yaml.ScalarNode || item.Tag != "!!str" || item.Value == "" {
			p.errorf(item, "origin_sets.%s: want an origin string such as \"https://app.example.com\"", set)
			continue
		}
		out = append(out, OriginSet{Name: set, Source: p.at(item), Origins: []string{item.Value}})
	}
	return out
}

// ValidEnvName reports whether name can name an environment: lower case
// letters, digits and hyphens, starting with a letter, at most 32 bytes.
func ValidEnvName(name string) bool {
	if name == "" || len(name) > 32 || name[0] < 'a' || name[0] > 'z' {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
