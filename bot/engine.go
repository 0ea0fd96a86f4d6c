package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// Engine runs flows for events from any number of adapters. It is safe for
// concurrent use: events of one conversation are handled one at a time in
// arrival order, events of different conversations in parallel.
type Engine struct {
	store      Store
	flows      map[string]Flow
	descs      []Descriptor // Options.Flows' descriptors, in order
	startCmds  map[string]bool
	commands   []string // start commands in order, then the engine's own
	idle       time.Duration
	maxLife    time.Duration
	now        func() time.Time
	log        *slog.Logger
	hooks      hooks
	observer   func(context.Context, Transition)
	states     StateCheck
	tables     map[string]Table // by flow name (StateTable)
	support    Support
	meter      Meter
	catalog    *Catalog
	queue      keyedQueue
	mu         sync.RWMutex
	deliverers map[string]Deliverer
	wordsMu    sync.Mutex
	wordsCache map[string]Words // by locale "\x00" channel (words.go)
	wordsGen   int              // catalog generation of wordsCache
	wordsEpoch int              // counts Registers (forgetWords)
}

// New returns an engine for opts. It returns an error when opts has no
// store or no flow, two flows share a name or a start payload prefix
// (Descriptor), a flow's message files do not load, or a flow's
// transition table (StateTable) is malformed. The start commands are
// Options.StartCommands (default "start"), which start the default flow,
// then each flow's Descriptor.Commands.
func New(opts Options) (*Engine, error) {
	if opts.Store == nil || len(opts.Flows) == 0 {
		return nil, errors.New("bot: engine needs a store and at least one flow")
	}
	e := &Engine{
		store:      opts.Store,
		flows:      map[string]Flow{},
		startCmds:  map[string]bool{},
		idle:       opts.IdleTimeout,
		maxLife:    opts.MaxDuration,
		now:        opts.Now,
		log:        opts.Logger,
		hooks:      opts.Hook,
		observer:   opts.Observer,
		support:    opts.Support,
		meter:      opts.Meter,
		catalog:    NewCatalog(),
		deliverers: map[string]Deliverer{},
	}
	if e.idle <= 0 {
		e.idle = 15 * time.Minute
	}
	if e.maxLife <= 0 {
		e.maxLife = 20 * time.Minute
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.meter == nil {
		e.meter = noMeter{}
	}
	if e.log == nil {
		e.log = slog.Default()
	}
	cmds := opts.StartCommands
	if len(cmds) == 0 {
		cmds = []string{"start"}
	}
	prefixes := map[string]string{}
	for _, f := range opts.Flows {
		d := Describe(f)
		if _, dup := e.flows[d.Name]; dup {
			return nil, fmt.Errorf("bot: two flows named %q", d.Name)
		}
		if other, dup := prefixes[d.PayloadPrefix]; dup && d.PayloadPrefix != "" {
			return nil, fmt.Errorf("bot: flows %q and %q have the same start payload prefix %q", other, d.Name, d.PayloadPrefix)
		}
		prefixes[d.PayloadPrefix] = d.Name
		e.flows[d.Name] = f
		e.descs = append(e.descs, d)
		for _, c := range d.Commands {
			cmds = append(cmds, c.Name)
		}
	}
	for _, c := range cmds {
		c = strings.ToLower(c)
		if !e.startCmds[c] {
			e.commands = append(e.commands, c)
		}
		e.startCmds[c] = true
	}
	e.commands = append(e.commands, "cancel", "help", CommandLanguage)
	if err := e.catalog.Load(engineMessages, "locales/en.yaml", "locales/ms.yaml"); err != nil {
		return nil, err
	}
	if err := e.loadTables(opts.Flows, opts.States); err != nil {
		return nil, err
	}
	for _, f := range opts.Flows {
		if ms, ok := f.(MessageSource); ok {
			fsys, paths := ms.Messages()
			if err := e.catalog.Load(fsys, paths...); err != nil {
				return nil, err
			}
		}
	}
	return e, nil
}

// Catalog returns the engine's message catalog (engine and flow texts).
func (e *Engine) Catalog() *Catalog { return e.catalog }

// Register makes d the deliverer of replies for conversations on channel
// (e.g. "telegram"). Registering a channel again replaces its deliverer.
// A d that is a WordSource supplies the channel's platform words (see
// Words).
func (e *Engine) Register(channel string, d Deliverer) {
	e.mu.Lock()
	e.deliverers[channel] = d
	e.mu.Unlock()
	e.forgetWords()
}

func (e *Engine) deliverer(channel string) Deliverer {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.deliverers[channel]
}

// Handle processes one event to the end: de-duplication by UpdateID, the
// flow's handler, saving the session, then delivering the replies through
// the channel's Deliverer. Events of one conversation wait for each other
// and run in the order Handle was called.
//
// It returns nil for a duplicate, stale or refused event (the user got a
// reply where one is due) and an error when the store or the flow failed;
// then the update is not recorded as processed, so a redelivery retries.
func (e *Engine) Handle(ctx context.Context, ev Event) error {
	unlock := e.queue.lock(ev.Conversation.String())
	defer unlock()
	return e.turn(ctx, ev)
}

// Dispatch queues ev behind the events of its conversation already queued
// (the place in line is taken before Dispatch returns) and handles it in a
// new goroutine, so an adapter reading updates in one goroutine keeps each
// conversation's order while conversations run in parallel. done, if not
// nil, receives Handle's result.
func (e *Engine) Dispatch(ctx context.Context, ev Event, done func(error)) {
	wait, unlock := e.queue.ticket(ev.Conversation.String())
	go func() {
		<-wait
		err := e.turn(ctx, ev)
		unlock()
		if done != nil {
			done(err)
		}
	}()
}

// Session returns the stored session of c, for adapters and tests; it
// returns ErrNoSession when there is none.
func (e *Engine) Session(ctx context.Context, c Conversation) (*Session, error) {
	return e.store.Load(ctx, c)
}

// Queued returns how many events of conversation c wait behind the one
// being handled (0 when it is idle or handling its only event).
func (e *Engine) Queued(c Conversation) int {
	e.queue.mu.Lock()
	defer e.queue.mu.Unlock()
	if w, ok := e.queue.m[c.String()]; ok {
		return len(w.waiting)
	}
	return 0
}
