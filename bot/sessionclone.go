package bot

import (
	"maps"
	"slices"
)

// Clone returns a deep copy of s that shares no memory with it: the maps
// (Tags, Messages), the slices (Offered, Outbox, and each Pending's Buttons,
// Image and Code), PendingStart and Data are copied, so that mutating
// either session, its maps or the elements of its slices never changes
// the other. Nil stays nil and an empty non-nil map or slice stays empty
// and non-nil. A nil s returns nil.
//
// The session store's decoded-session cache (internal/store) hands out
// clones of the sessions it keeps, because the caller of Store.Load owns and
// mutates what it gets; TestCloneIsDeep fails when a field added to Session
// or Pending is not copied here.
func (s *Session) Clone() *Session {
	if s == nil {
		return nil
	}
	c := *s
	c.Offered = slices.Clone(s.Offered)
	c.Tags = maps.Clone(s.Tags)
	c.Messages = maps.Clone(s.Messages)
	if s.Outbox != nil {
		c.Outbox = make([]Pending, len(s.Outbox))
		for i, p := range s.Outbox {
			c.Outbox[i] = p.clone()
		}
	}
	if s.PendingStart != nil {
		ps := *s.PendingStart
		c.PendingStart = &ps
	}
	c.Data = slices.Clone(s.Data)
	return &c
}

// clone returns a deep copy of p (its Buttons, Image and Code copied).
func (p Pending) clone() Pending {
	p.Buttons = slices.Clone(p.Buttons)
	p.Image = slices.Clone(p.Image)
	p.Code = slices.Clone(p.Code)
	return p
}
