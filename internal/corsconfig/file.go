package corsconfig

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/portico-dev/portico/gateway/policy"
	"go.yaml.in/yaml/v3"
)

// ParseFile reads the section of environment env from a configuration file,
// named name in errors and sources. The file's shape:
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
// Unknown keys, duplicate keys, values of the wrong kind and an environment
// the file does not have are errors, each naming "name:line:column". Every
// environment is checked, not only env, so that a mistake in the prod
// section fails in staging first.
func ParseFile(name string, data []byte, env string) (Config, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return Config{}, fmt.Errorf("%s: %w", name, err)
	}
	p := &fileParser{name: name}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return Config{}, fmt.Errorf("%s: empty file: want an environments: mapping", name)
	}
	root := doc.Content[0]
	var selected Config
	found := false
	var names []string
	p.mapping(root, "the file", func(key, value *yaml.Node) {
		if key.Value != "environments" {
			p.errorf(key, "unknown key %q (known: environments)", key.Value)
			return
		}
		p.mapping(value, "environments", func(envKey, section *yaml.Node) {
			names = append(names, envKey.Value)
			if !ValidEnvName(envKey.Value) {
				p.errorf(envKey, "invalid environment name %q: lower case letters, digits and hyphens, starting with a letter", envKey.Value)
				return
			}
			cfg := p.environment(envKey.Value, section)
			if envKey.Value == env {
				selected, found = cfg, true
			}
		})
	})
	if err := errors.Join(p.errs...); err != nil {
		return Config{}, err
	}
	if !found {
		slices.Sort(names)
		return Config{}, fmt.Errorf("%s: no environment %q (the file has: %s)", name, env, strings.Join(names, ", "))
	}
	return selected, nil
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

// members reads an origin set's list. Each origin is its own binding, so
// that an error names its line.
func (p *fileParser) members(set string, n *yaml.Node) []OriginSet {
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "origin_sets.%s: want a list of origins", set)
		return nil
	}
	var out []OriginSet
	for _, item := range n.Content {
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
