package store

import (
	"sync"

	"github.com/parleydesk/parley/channels"
	"github.com/parleydesk/parley/desk/engine"
)

// recentKept bounds the contacts a store remembers: a live chat's image
// is under 1 KB (its stored document is about 500 bytes), so a few
// megabytes at most.
const recentKept = 4096

// contactImage is a contact as a commit of this process left it in Redis:
// its hash's values (contactFields), and the four conversations it points
// at (nil where it points at none) with their stored documents. It is
// what loadScript would read back, without the round trip. It is never
// changed: the worlds that use it at once share it only as what their
// conversations were before (Tracked.Before, which nothing writes), and
// World.Track gives each decision its own copy to change.
type contactImage struct {
	fields []string
	convs  [4]*engine.Conversation
	docs   [4]string
}

// recentContacts remembers the image of each contact this process was the
// last to write, for the next message of a conversation under way: the
// customer's next text is decided on the image, and its commit is the only
// round trip. Nothing depends on the image being current. A world built
// from one is Remembered, and its commit checks that Redis holds every
// record it read exactly as remembered, changed or not (Store.Write), so
// if another gateway or the worker wrote the contact or one of its
// conversations since, the commit conflicts, the image is dropped, and the
// decision is made again on what Redis holds.
type recentContacts struct {
	mu     sync.Mutex
	images map[channels.Address]*contactImage
}

func newRecentContacts() *recentContacts {
	return &recentContacts{images: make(map[channels.Address]*contactImage)}
}

func (r *recentContacts) get(a channels.Address) *contactImage {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.images[a]
}

// settle records what a commit did to the contacts it touched: those whose
// conversations it changed are forgotten, then, if it committed, the
// contact it wrote is remembered as written. After an error the write may
// or may not have been applied, so that contact is forgotten too.
func (r *recentContacts) settle(t *Tx, committed bool) {
	if t.image == nil && len(t.stale) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, a := range t.stale {
		delete(r.images, a)
	}
	if t.image == nil {
		return
	}
	if !committed {
		delete(r.images, t.imageOf)
		return
	}
	if _, ok := r.images[t.imageOf]; !ok && len(r.images) >= recentKept {
		for a := range r.images { // any one: map order is random enough
			delete(r.images, a)
			break
		}
	}
	r.images[t.imageOf] = t.image
}
