//! The pool's messages by id: a slab of slots with a free list, so that every look-up,
//! insert and removal is O(1) and allocates nothing once the slab has grown (a map
//! ordered by id cost a tree walk per look-up and node moves per removal).
//!
//! A [`MessageId`] carries its slot and its number; a slot holds the number of the
//! message in it, so an id whose message ended (its slot reused since, or free) finds
//! nothing. Memory: the most messages alive at once (bounded by the pool's limits:
//! waiting ones by `max_queued`, the others by the connections' `max_in_flight`), given
//! back whole once none is alive.

use alloc::vec::Vec;

use super::MessageId;

/// Slots kept once every message ended: a pool that empties between bursts keeps the
/// room of a few callers, not of its largest burst.
const IDLE_SLOTS: usize = 16;

#[derive(Debug)]
enum Slot<T> {
    Free,
    Live { number: u64, value: T },
}

/// Values by [`MessageId`].
#[derive(Debug)]
pub(super) struct Slab<T> {
    slots: Vec<Slot<T>>,
    /// Free slots, the last freed on top: reused first, while still in cache.
    free: Vec<u32>,
    live: usize,
}

impl<T> Slab<T> {
    pub(super) const fn new() -> Self {
        Slab {
            slots: Vec::new(),
            free: Vec::new(),
            live: 0,
        }
    }

    /// Keeps `value` as message `number` (unique: the pool counts them); `None` once
    /// slots cannot be numbered any more (2³² alive at once).
    pub(super) fn insert(&mut self, number: u64, value: T) -> Option<MessageId> {
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                let slot = u32::try_from(self.slots.len()).ok()?;
                self.slots.push(Slot::Free);
                slot
            }
        };
        let cell = self.slots.get_mut(slot as usize)?;
        *cell = Slot::Live { number, value };
        self.live += 1;
        Some(MessageId { number, slot })
    }

    pub(super) fn get(&self, id: &MessageId) -> Option<&T> {
        match self.slots.get(id.slot as usize)? {
            Slot::Live { number, value } if *number == id.number => Some(value),
            _ => None,
        }
    }

    pub(super) fn get_mut(&mut self, id: &MessageId) -> Option<&mut T> {
        match self.slots.get_mut(id.slot as usize)? {
            Slot::Live { number, value } if *number == id.number => Some(value),
            _ => None,
        }
    }

    pub(super) fn remove(&mut self, id: &MessageId) -> Option<T> {
        let cell = self.slots.get_mut(id.slot as usize)?;
        if !matches!(cell, Slot::Live { number, .. } if *number == id.number) {
            return None;
        }
        let Slot::Live { value, .. } = core::mem::replace(cell, Slot::Free) else {
            return None;
        };
        self.live -= 1;
        if self.live == 0 {
            // Nothing alive: no slot is referred to, the slab starts over.
            self.slots.clear();
            self.free.clear();
            self.slots.shrink_to(IDLE_SLOTS);
            self.free.shrink_to(IDLE_SLOTS);
        } else {
            self.free.push(id.slot);
        }
        Some(value)
    }

    pub(super) fn is_empty(&self) -> bool {
        self.live == 0
    }

    #[cfg(test)]
    pub(super) fn slots(&self) -> usize {
        self.slots.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A slot reused by a later message is not found under the id of the message that
    /// had it before: a stale id finds nothing, never another message's data.
    #[test]
    fn a_reused_slot_is_not_found_under_the_id_of_its_former_message() {
        let mut s = Slab::new();
        let keep = s.insert(0, "keep").unwrap();
        let old = s.insert(1, "old").unwrap();
        assert_eq!(s.remove(&old), Some("old"));
        let new = s.insert(2, "new").unwrap();
        assert_eq!(new.slot, old.slot, "the freed slot is reused");
        assert_eq!(s.get(&old), None);
        assert_eq!(s.get_mut(&old), None);
        assert_eq!(s.remove(&old), None);
        assert_eq!(s.get(&new), Some(&"new"));
        assert_eq!(s.get(&keep), Some(&"keep"));
    }

    /// Once every message ended the slab starts over, and an id from before finds
    /// nothing in the slot numbers handed out again.
    #[test]
    fn an_emptied_slab_starts_over_and_old_ids_find_nothing() {
        let mut s = Slab::new();
        let ids: Vec<_> = (0..100).map(|n| s.insert(n, n).unwrap()).collect();
        assert_eq!(s.slots(), 100);
        for id in &ids {
            assert_eq!(s.remove(id), Some(id.number));
        }
        assert!(s.is_empty());
        assert_eq!(s.slots(), 0);
        assert!(s.slots.capacity() <= IDLE_SLOTS);
        let again = s.insert(100, 100).unwrap();
        assert_eq!(again.slot, ids[0].slot);
        assert_eq!(s.get(&ids[0]), None);
        assert_eq!(s.get(&again), Some(&100));
    }

    /// Memory follows the messages alive at once, not how many went through.
    #[test]
    fn slots_are_as_many_as_messages_alive_at_once() {
        let mut s = Slab::new();
        let mut alive = alloc::collections::VecDeque::new();
        for n in 0..10_000u64 {
            alive.push_back(s.insert(n, n).unwrap());
            if alive.len() > 7 {
                let id = alive.pop_front().unwrap();
                assert_eq!(s.remove(&id), Some(id.number));
            }
        }
        assert_eq!(s.slots(), 8);
        for id in &alive {
            assert_eq!(s.get(id), Some(&id.number));
        }
    }
}
