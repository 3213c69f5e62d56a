//! Open-block bookkeeping for the stream decoders: which hub block is open (its format-specific
//! kind and hub index), the next hub index to hand out, and the `BlockStart` / `BlockStop`
//! events that opening and closing blocks emit. Hub indexes count from 0 in arrival order.

use crate::hub::{BlockDelta, BlockStart, StreamEvent};

/// The one hub block a decoder has open (if any), tagged with a kind `K` of the decoder's own.
#[derive(Debug)]
pub(crate) struct BlockTracker<K> {
    open: Option<(K, usize)>,
    next_index: usize,
}

impl<K> Default for BlockTracker<K> {
    fn default() -> Self {
        BlockTracker { open: None, next_index: 0 }
    }
}

impl<K: Copy> BlockTracker<K> {
    /// The open block's kind and hub index.
    pub fn open(&self) -> Option<(K, usize)> {
        self.open
    }

    /// The open block's kind, to update, and its hub index.
    pub fn open_mut(&mut self) -> Option<(&mut K, usize)> {
        self.open.as_mut().map(|(kind, index)| (kind, *index))
    }

    /// The open block's hub index if its kind is `kind`; else closes whatever is open and
    /// opens a new block of that kind.
    pub fn ensure_open(&mut self, out: &mut Vec<StreamEvent>, kind: K, start: BlockStart) -> usize
    where
        K: PartialEq,
    {
        match self.open {
            Some((open, index)) if open == kind => index,
            _ => self.open_new(out, kind, start),
        }
    }

    /// Closes whatever is open and opens a new block of `kind`.
    pub fn open_new(&mut self, out: &mut Vec<StreamEvent>, kind: K, start: BlockStart) -> usize {
        self.close(out);
        let index = self.next_index();
        self.open = Some((kind, index));
        out.push(StreamEvent::BlockStart { index, block: start });
        index
    }

    /// Closes the open block, if any.
    pub fn close(&mut self, out: &mut Vec<StreamEvent>) {
        if let Some((_, index)) = self.open.take() {
            out.push(StreamEvent::BlockStop { index });
        }
    }

    /// Closes whatever is open and emits a block that arrived whole: start, deltas, stop.
    pub fn whole(
        &mut self,
        out: &mut Vec<StreamEvent>,
        start: BlockStart,
        deltas: impl IntoIterator<Item = BlockDelta>,
    ) -> usize {
        self.close(out);
        let index = self.next_index();
        out.push(StreamEvent::BlockStart { index, block: start });
        out.extend(deltas.into_iter().map(|delta| StreamEvent::BlockDelta { index, delta }));
        out.push(StreamEvent::BlockStop { index });
        index
    }

    fn next_index(&mut self) -> usize {
        self.next_index += 1;
        self.next_index - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_open_close_and_number_in_order() {
        let mut blocks = BlockTracker::<u8>::default();
        let mut out = Vec::new();
        assert_eq!(blocks.ensure_open(&mut out, 1, BlockStart::Text), 0);
        assert_eq!(blocks.ensure_open(&mut out, 1, BlockStart::Text), 0, "same kind: same block");
        assert_eq!(blocks.ensure_open(&mut out, 2, BlockStart::Thinking), 1);
        assert_eq!(blocks.whole(&mut out, BlockStart::Text, [BlockDelta::Text("x".into())]), 2);
        assert_eq!(blocks.open(), None);
        blocks.close(&mut out);
        assert_eq!(
            out,
            vec![
                StreamEvent::BlockStart { index: 0, block: BlockStart::Text },
                StreamEvent::BlockStop { index: 0 },
                StreamEvent::BlockStart { index: 1, block: BlockStart::Thinking },
                StreamEvent::BlockStop { index: 1 },
                StreamEvent::BlockStart { index: 2, block: BlockStart::Text },
                StreamEvent::BlockDelta { index: 2, delta: BlockDelta::Text("x".into()) },
                StreamEvent::BlockStop { index: 2 },
            ]
        );
    }
}
