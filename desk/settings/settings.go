// Package settings is the engine's settings as Parley stores and audits
// them: the same YAML document as the configuration file (users left
// out, since they are managed on their own), checked on the way in, and
// compared section by section for the audit log.
package settings

import (
	"bytes"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/parleydesk/parley/config"
	"github.com/parleydesk/parley/desk/engine"
)

// Encode is the settings as stored: the same YAML shape as the file.
func Encode(e *config.Engine) (string, error) {
	cp := *e
	cp.Agents = nil // users are managed on their own
	raw, err := yaml.Marshal(&cp)
	return string(raw), err
}

// Parse reads a stored or submitted document (YAML, or JSON, which YAML
// reads too) and checks it; a mistake is engine.ErrInvalid with the reason.
func Parse(doc string) (*config.Engine, error) {
	var e config.Engine
	dec := yaml.NewDecoder(bytes.NewReader([]byte(doc)))
	dec.KnownFields(true)
	if err := dec.Decode(&e); err != nil {
		return nil, fmt.Errorf("%w: settings: %v", engine.ErrInvalid, err)
	}
	if err := e.Validate(); err != nil {
		return nil, fmt.Errorf("%w: settings: %v", engine.ErrInvalid, err)
	}
	return &e, nil
}

// Changed names the top-level settings that differ between two
// settings documents ("changed: hours, texts"), for the audit log.
func Changed(before, after string) string {
	var a, b map[string]any
	_ = yaml.Unmarshal([]byte(before), &a) // both were written by Encode
	_ = yaml.Unmarshal([]byte(after), &b)
	var changed []string
	for key := range mergeKeys(a, b) {
		if !reflect.DeepEqual(a[key], b[key]) {
			changed = append(changed, key)
		}
	}
	if len(changed) == 0 {
		return "no change"
	}
	slices.Sort(changed)
	return "changed: " + strings.Join(changed, ", ")
}

func mergeKeys(maps ...map[string]any) map[string]bool {
	out := map[string]bool{}
	for _, m := range maps {
		for k := range m {
			out[k] = true
		}
	}
	return out
}
