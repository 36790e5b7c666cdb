package desk

import "slices"

// TabsFor lists the tabs a desk user has, in the desk's order: an agent's
// own lists (a bot's chats reach them only once it hands off), or a
// supervisor's view of everyone's (mentions, the Tagged tab, are an
// agent's tool; the bots' chats are a supervisor's to watch).
func TabsFor(supervises bool) []string {
	drop := TabBot
	if supervises {
		drop = TabTagged
	}
	return slices.DeleteFunc(slices.Clone(Tabs), func(t string) bool { return t == drop })
}
