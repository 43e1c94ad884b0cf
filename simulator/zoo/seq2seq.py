"""LSTM encoder-decoder of Sutskever, Vinyals & Le, "Sequence to Sequence
Learning with Neural Networks" (NIPS 2014).

Published configuration: 4-layer LSTMs of 1000 cells in the encoder and the
decoder, 1000-dimensional word embeddings, input vocabulary 160,000, output
vocabulary 80,000, a softmax over the output vocabulary; "384M parameters,
64M of which are pure recurrent connections (32M for the encoder LSTM and
32M for the decoder LSTM)". The paper trained with batches of 128 sentences
and put each LSTM layer on its own GPU.

Derivation of the count with one bias vector per gate block (as in the
paper's formulation): embeddings 160,000*1000 + 80,000*1000 = 240,000,000;
LSTM weights 8 layers * 4*1000*(1000+1000) = 64,000,000; output projection
1000*80,000 = 80,000,000 -- the paper's 384M exactly -- plus biases
8 * 4000 + 80,000 = 112,000: 384,112,000 parameters in all.

The decoder's layer i starts from the encoder's layer i final state (h, c):
the second parent of each decoder LSTM is that state (`encoder_lstm{i}_state`,
2 x 1000 per sentence, with the encoder's layer), not its output sequence. Sentence lengths are a choice: 32 source
and 32 target tokens by default.
"""
from __future__ import annotations

from simulator.graph import Network
from simulator.ops import LSTM, Embedding, Input, Linear, Softmax
from simulator.ops.recurrent import final_state
from simulator.zoo._builder import NetBuilder


def lstm_seq2seq(batch_size: int, src_vocab: int = 160_000, tgt_vocab: int = 80_000,
                 embed: int = 1000, hidden: int = 1000, layers: int = 4, src_len: int = 32,
                 tgt_len: int = 32) -> Network:
    b = NetBuilder("lstm_seq2seq")
    src = b.add("src_tokens", Input((src_len,)))
    with b.block("encoder_embedding", prefix=False):
        x = b.add("src_embedding", Embedding(src_vocab, embed), src)
    encoder = []
    for i in range(1, layers + 1):
        with b.block(f"encoder_lstm{i}", prefix=False):
            lstm = LSTM(hidden, bias_vectors=1)
            x = b.add(f"encoder_lstm{i}", lstm, x)
            encoder.append(b.add(f"encoder_lstm{i}_state", final_state(lstm), x))
    tgt = b.add("tgt_tokens", Input((tgt_len,)))
    with b.block("decoder_embedding", prefix=False):
        y = b.add("tgt_embedding", Embedding(tgt_vocab, embed), tgt)
    for i in range(1, layers + 1):
        with b.block(f"decoder_lstm{i}", prefix=False):
            y = b.add(f"decoder_lstm{i}", LSTM(hidden, bias_vectors=1), y, encoder[i - 1])
    with b.block("output", prefix=False):
        y = b.add("projection", Linear(tgt_vocab), y)
        b.add("softmax", Softmax(), y)
    return b.build(batch_size, published_params=384_000_000, derived_params=384_112_000)
