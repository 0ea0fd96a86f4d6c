package bot

import (
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"sync"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"go.yaml.in/yaml/v3"
	"golang.org/x/text/language"
)

// Catalog holds every user-facing text, keyed by stable message ids, in
// one or more languages (github.com/nicksnyder/go-i18n/v2). English is the
// default and the fallback.
type Catalog struct {
	bundle *i18n.Bundle
	mu     sync.Mutex
	locs   map[string]*i18n.Localizer
	ids    map[string]bool
	gen    int // counts Loads, so that texts rendered from the catalog are cached safely
}

// NewCatalog returns an empty catalog whose default language is English.
func NewCatalog() *Catalog {
	b := i18n.NewBundle(language.English)
	b.RegisterUnmarshalFunc("yaml", yaml.Unmarshal)
	return &Catalog{bundle: b, locs: map[string]*i18n.Localizer{}, ids: map[string]bool{}}
}

// Load adds the YAML message files at paths in fsys. A file's language
// comes from its name, "en.yaml" or "active.ms.yaml" (go-i18n's rule). Each
// file maps message ids to a text or to plural forms ({one, other}); texts
// are Go templates over the data passed to Text. It returns an error for an
// unreadable or malformed file.
func (c *Catalog) Load(fsys fs.FS, paths ...string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range paths {
		mf, err := c.bundle.LoadMessageFileFS(fsys, p)
		if err != nil {
			return fmt.Errorf("catalog: %s: %w", p, err)
		}
		for _, m := range mf.Messages {
			c.ids[m.ID] = true
		}
	}
	c.locs = map[string]*i18n.Localizer{}
	c.gen++
	return nil
}

// generation returns how many times Load has run; a cache of rendered
// texts is stale once it changes.
func (c *Catalog) generation() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// Has reports whether id is defined in at least one language.
func (c *Catalog) Has(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ids[id]
}

// IDs returns the ids defined in at least one language that begin with
// prefix (every id for ""), sorted.
func (c *Catalog) IDs(prefix string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ids []string
	for id := range c.ids {
		if strings.HasPrefix(id, prefix) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// Text renders message id in locale (a BCP 47 tag such as "ms-MY"; empty
// or unknown falls back to English) with data as template data. A numeric
// data["Count"] selects the plural form. An id missing from the catalog
// renders as "[id]" so that tests catch it.
func (c *Catalog) Text(locale, id string, data map[string]any) string {
	c.mu.Lock()
	loc, ok := c.locs[locale]
	if !ok {
		loc = i18n.NewLocalizer(c.bundle, locale, "en")
		c.locs[locale] = loc
	}
	c.mu.Unlock()
	cfg := &i18n.LocalizeConfig{MessageID: id, TemplateData: data}
	if n, ok := data["Count"]; ok {
		cfg.PluralCount = n
	}
	s, err := loc.Localize(cfg)
	if err != nil || s == "" {
		return "[" + id + "]"
	}
	return s
}
