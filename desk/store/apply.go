package store

import (
	"encoding/json"
	"strconv"

	"github.com/parleydesk/parley/channels"
	"github.com/parleydesk/parley/desk/engine"
)

// indexes lists the sorted sets a conversation belongs to, with its score
// in each: the desk's lists, the department queues and the contact's
// history are all read from these.
func (k keys) indexes(c *engine.Conversation) map[string]float64 {
	created := float64(c.CreatedAt.UnixMilli())
	updated := float64(c.UpdatedAt.UnixMilli())
	idx := map[string]float64{k.index("contact:" + string(c.Contact)): created, k.index("created"): created}
	if c.DeletedAt != nil {
		deleted := float64(c.DeletedAt.UnixMilli())
		idx[k.index("trash")] = deleted
		idx[k.index("trash:"+c.DeletedBy)] = deleted
		return idx
	}
	switch {
	case c.State == engine.StateBot:
		idx[k.index("bot")] = created
	case c.Kind == engine.KindChat && c.State == engine.StateQueued:
		idx[k.queue(c.Department)] = created
	case c.Kind == engine.KindChat && c.State == engine.StateLive:
		idx[k.index("live:"+c.Assignee)] = created
		idx[k.index("live")] = created
	case c.Kind == engine.KindChat && c.State == engine.StatePending:
		idx[k.index("pending:"+c.Assignee)] = updated
		idx[k.index("pending")] = updated
	case c.Kind == engine.KindChat && c.State == engine.StateClosed:
		idx[k.index("closed")] = updated
		if c.Assignee != "" {
			idx[k.index("closed:"+c.Assignee)] = updated
		}
	case c.State == engine.StateUnassigned:
		idx[k.index("tickets:unassigned:"+c.Department)] = created
	case c.State == engine.StateAssigned:
		idx[k.index("tickets:assigned:"+c.Assignee)] = created
		idx[k.index("tickets:assigned")] = created
	case c.Kind == engine.KindTicket && c.State == engine.StateClosed:
		idx[k.index("tickets:closed")] = updated
	case c.State == engine.StateArchived:
		idx[k.index("archived")] = updated
	}
	if c.Open() {
		for _, agent := range c.Mentions {
			idx[k.index("tagged:"+agent)] = updated
		}
	}
	return idx
}

func (k keys) index(name string) string   { return k.prefix + "idx:" + name }
func (k keys) queue(dept string) string   { return k.prefix + "queue:" + dept }
func (k keys) agent(id string) string     { return k.prefix + "agent:" + id }
func (k keys) deptAgents(d string) string { return k.prefix + "agents:dept:" + d }
func (k keys) allAgents() string          { return k.prefix + "agents" }

// convWake is the due-set member of a conversation's earliest deadline.
func convWake(id string) string { return DueMember(DueConversation, id) }

// Push is one outbox the write pushes new messages to, first the
// first of them: once it committed, the outbox's length is the tx's
// replies[reply].
type Push struct {
	To     channels.Address
	First  string
	reply  int
	pushed int
}

// Busy tells whether the outbox held messages before the push: a send job,
// a scheduled retry or the due set (for the reconciler) already answers
// for them, and works through the outbox, so the new messages, which wait
// behind them, need no job of their own.
func (p Push) Busy(t *Tx) bool {
	n, err := strconv.Atoi(t.replies[p.reply])
	return err == nil && n > p.pushed
}

// Write adds the world's changes to t: every changed document guarded by
// the version it was decided on, index moves, new messages, the wake-up of
// each deadline and each queued send, and the live-update events. It
// returns the outboxes it pushes to.
func (s *Store) Write(t *Tx, w *engine.World) ([]Push, error) {
	k := s.keys
	var was, now []string // the contact's values as read and as written
	if w.Remembered {
		// Decided on the store's image, not on a read (recent.go): the
		// commit checks that Redis holds exactly what the decision read,
		// changed or not, every field of the contact and each conversation
		// whole. Versions alone would not do: should Redis lose writes (a
		// crash between fsyncs, a failover), a version can come round again
		// with other contents.
		was = contactValues(&w.ContactBefore, w.ContactBefore.Version)
		t.expectHash(k.contact(w.Contact.Address), contactFields, was)
	} else if w.ContactDirty {
		t.expectVersion(k.contact(w.Contact.Address), w.ContactBefore.Version)
	}
	if w.ContactDirty {
		if was == nil {
			was = contactValues(&w.ContactBefore, w.ContactBefore.Version)
		}
		now = contactValues(w.Contact, w.ContactBefore.Version+1)
		writeContact(t, k.contact(w.Contact.Address), was, now)
	}
	w.ScheduleWakes()
	// stored holds each conversation as this write leaves it, for the
	// contact's image.
	stored := make(map[string]storedConv, len(w.Convs))
	for _, tr := range w.Convs {
		c := tr.Conv
		doc, err := encodeConversation(c)
		if err != nil {
			return nil, err
		}
		var before int64
		oldIdx := map[string]float64{}
		if tr.Before != nil {
			loaded, err := loadedDoc(tr)
			if err != nil {
				return nil, err
			}
			if w.Remembered {
				t.expectStored(k.conversation(c.ID), convValue(tr.Before.Version, loaded))
			}
			if doc == loaded {
				stored[c.ID] = storedConv{tr, tr.Before.Version, doc}
				continue // unchanged
			}
			before = tr.Before.Version
			oldIdx = k.indexes(tr.Before)
		}
		if !w.Remembered || tr.Before == nil {
			t.expectRecord(k.conversation(c.ID), before)
		}
		stored[c.ID] = storedConv{tr, before + 1, doc}
		t.do("SET", k.conversation(c.ID), convValue(before+1, doc))
		t.stale = append(t.stale, c.Contact) // its image, unless this write makes a new one
		newIdx := k.indexes(c)
		for key := range oldIdx {
			if _, still := newIdx[key]; !still {
				t.do("ZREM", key, c.ID)
			}
		}
		for key, score := range newIdx {
			if old, ok := oldIdx[key]; !ok || old != score {
				t.do("ZADD", key, strconv.FormatFloat(score, 'f', 0, 64), c.ID)
			}
		}
		// The due set holds each stored conversation's earliest deadline:
		// it changes only when that does.
		switch due := engine.DueAt(c); {
		case tr.Before != nil && due.Equal(engine.DueAt(tr.Before)):
		case due.IsZero():
			t.do("ZREM", k.due(), convWake(c.ID))
		default:
			t.do("ZADD", k.due(), ms(due), convWake(c.ID))
		}
	}
	for _, ta := range w.Agents {
		a, key := ta.Agent, k.agent(ta.Agent.ID)
		changed := false
		if n := w.Routed[a.ID]; n > 0 {
			// Routed chats need room, not an unchanged agent: concurrent
			// assignments to one agent commit while capacity lasts.
			t.expectRoom(key, "load", n, a.Capacity)
		}
		if delta := a.Load - ta.Before.Load; delta != 0 {
			t.do("HINCRBY", key, "load", strconv.Itoa(delta))
			changed = true
		}
		if !a.LastAssigned.Equal(ta.Before.LastAssigned) {
			t.do("HSET", key, "last", ms(a.LastAssigned))
		}
		if !sameAgent(&ta.Before, a) {
			t.expectVersion(key, ta.Before.Version)
			t.do("HSET", key, "doc", encodeAgent(a), "ver", itoa(ta.Before.Version+1))
			changed = true
		}
		if changed {
			w.Events = append(w.Events, engine.Event{Type: engine.EventAgent, Agent: a.ID, At: w.Now})
		}
	}
	// One RPUSH per history and per outbox, and one ZADD for the bot
	// hand-offs and media fetches: each command the commit script calls costs Redis more in
	// the call from Lua (about 2 us) than in its own work.
	var convs, contacts, wakes []string
	pushed := map[string][]string{}
	outgoing := map[string][]string{}
	for _, m := range w.Messages {
		fields, err := messageFields(m)
		if err != nil {
			return nil, err
		}
		t.do("HSET", k.message(m.ID), fields...)
		if _, ok := pushed[m.ConversationID]; !ok {
			convs = append(convs, m.ConversationID)
		}
		pushed[m.ConversationID] = append(pushed[m.ConversationID], m.ID)
		if m.Direction == engine.DirIn && len(m.Media) > 0 {
			// Its fetch is due now, in the same write (desk/inmedia.go).
			wakes = append(wakes, ms(w.Now), MediaWake(m.ID))
		}
		if m.Direction == engine.DirOut && m.Status == channels.StatusQueued {
			if _, ok := outgoing[string(m.To)]; !ok {
				contacts = append(contacts, string(m.To))
			}
			outgoing[string(m.To)] = append(outgoing[string(m.To)], m.ID)
		}
	}
	for _, id := range convs {
		t.do("RPUSH", k.history(id), pushed[id]...)
	}
	pushes := make([]Push, 0, len(contacts))
	for _, a := range contacts {
		reply := t.report("RPUSH", k.outbox(channels.Address(a)), outgoing[a]...)
		pushes = append(pushes, Push{To: channels.Address(a), First: outgoing[a][0], reply: reply, pushed: len(outgoing[a])})
		// NX: an outbox already due (its head waiting for a retry, or
		// claimed) keeps its time; the new messages wait their turn.
		t.do("ZADD", k.due(), "NX", ms(w.Now), OutboxWake(channels.Address(a)))
	}
	for _, b := range w.BotDeliveries {
		wakes = append(wakes, ms(w.Now), BotWake(b.Conv, b.Message))
	}
	if len(wakes) > 0 {
		t.do("ZADD", k.due(), wakes...)
	}
	for _, nt := range w.Notices {
		raw, err := json.Marshal(nt.Notification)
		if err != nil {
			return nil, err
		}
		t.do("LPUSH", k.notifications(nt.Agent), string(raw))
		t.do("LTRIM", k.notifications(nt.Agent), "0", itoa(notificationsKept-1))
		t.do("INCR", k.unread(nt.Agent))
	}
	k.writeTranscriptOffers(t, w)
	s.remember(t, w, now, stored)
	for _, e := range w.Events {
		if tr, ok := w.Convs[e.ConversationID]; ok {
			// Describe the conversation as committed, not as it was when the
			// event was noted mid-decision, so each desk is told what it may see.
			c := tr.Conv
			e.State, e.Assignee, e.Kind, e.Department = string(c.State), c.Assignee, string(c.Kind), c.Department
			if e.Type == engine.EventMessageIn || e.Type == engine.EventMessageOut {
				e.Preview, e.LastCustomerAt = c.Preview, c.LastCustomerAt
			}
			if tr.Before != nil && tr.Before.Assignee != c.Assignee {
				e.Was = tr.Before.Assignee // so the previous agent's desk lets it go
			}
		}
		t.publish(k.events(), encodeEvent(e))
	}
	return pushes, nil
}

func sameAgent(a, b *engine.Agent) bool { return encodeAgent(a) == encodeAgent(b) }

// writeTranscriptOffers adds a decision's offers to its commit, and drops
// the offer it took up.
func (k keys) writeTranscriptOffers(t *Tx, w *engine.World) {
	ts := w.Transcript
	if ts == nil {
		return
	}
	key := k.transcriptOffer(w.Contact.Address)
	if ts.Used {
		t.do("DEL", key)
	}
	for _, o := range ts.Offers {
		ttl := o.Until.Sub(w.Now).Milliseconds()
		t.do("SET", key, o.Conv+" "+ms(o.Until), "PX", strconv.FormatInt(max(ttl, 1), 10))
	}
}

// storedConv is a conversation as a write leaves it: its version and
// document as stored.
type storedConv struct {
	tr      *engine.Tracked
	version int64
	doc     string
}

// remember sets t's image of the world's contact as the write leaves it
// (fields, its values as written), when the write stores the contact and every conversation it points at is
// in the world; otherwise an image of it is stale. The image's
// conversations are copies of the decided ones, so the next message needs
// no decoding either. Decoding their stored documents gives the same
// (TestImageIsWhatAReadFinds) but for times finer than a millisecond,
// which the stored form drops: decisions run on a millisecond clock, so
// only a timeout set finer than that would make one, and a deadline
// remembered that much later than stored.
func (s *Store) remember(t *Tx, w *engine.World, fields []string, stored map[string]storedConv) {
	if fields == nil {
		return // the write leaves the contact as it was
	}
	c := w.Contact
	img := &contactImage{fields: fields}
	for i, id := range []string{c.Chat, c.Ticket, c.ReachOut, c.Survey} {
		if id == "" {
			continue
		}
		sc, ok := stored[id]
		if !ok {
			t.stale = append(t.stale, c.Address)
			return
		}
		cp := sc.tr.Conv.Clone()
		cp.Version = sc.version
		img.convs[i], img.docs[i] = cp, sc.doc
	}
	t.image, t.imageOf = img, c.Address
}
