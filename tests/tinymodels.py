"""Tiny transformers models built offline, for tests and benches that must exercise real model code.

Nothing here touches a model hub: the T5 uses the byte-level `ByT5Tokenizer` (no vocabulary file) and the
GPT-2 a byte-level BPE tokenizer trained here with the `tokenizers` library. Each builder saves a model and
tokenizer with `save_pretrained` so callers load them back through the Auto classes, as a user's model would be.

    path = build_tiny_t5(tmp_path / "t5")                      # untrained: generates garbage
    train_tiny_seq2seq(path, [("Fix the grammar: She go.", "She goes.")])  # ~2 s
    chat = build_tiny_gpt2(tmp_path / "gpt2")                   # has a ChatML chat template
    train_tiny_causal(chat, [(prompt_text, "She goes.<|im_end|>")])  # ~1-3 s

The fixtures `one_torch_thread` (module scope) and `empty_cache` are for test modules that run proposers on
these models: import them and apply with `pytestmark = pytest.mark.usefixtures("one_torch_thread", "empty_cache")`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

CHATML_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
CHAT_END = "<|im_end|>"

# Enough English for the BPE trainer to learn common merges; byte-level BPE still encodes any text.
_CORPUS = """\
The quick brown fox jumps over the lazy dog. She goes to school every day and he went to work yesterday.
Rewrite the sentence so that it is clearer, more fluent and more coherent. Reply with the revised sentence only.
Fix the grammar of this text. Make this text coherent. Improve the clarity of this text. Paraphrase this.
Write this more formally. Write this more neutrally. Rewrite to make this easier to understand.
You are a careful editor. Context before the sentence. Context after the sentence. Feedback from the writer.
Examples of edits the writer accepted. Changes the writer rejected, do not propose them again.
The results of the experiment was significant, however the authors does not discuss them in details.
In order to improve the model, we have trained it on more data due to the fact that data helps.
"""


def build_tiny_t5(path: str | Path, *, d_model: int = 64, layers: int = 2, seed: int = 0) -> Path:
    """Save an untrained T5ForConditionalGeneration (d_model 64, 2+2 layers by default) with a ByT5Tokenizer."""
    import torch
    from transformers import ByT5Tokenizer, T5Config, T5ForConditionalGeneration

    path = Path(path)
    tokenizer = ByT5Tokenizer()
    config = T5Config(
        vocab_size=len(tokenizer),
        d_model=d_model,
        d_ff=d_model * 2,
        d_kv=max(8, d_model // 4),
        num_heads=4,
        num_layers=layers,
        num_decoder_layers=layers,
        decoder_start_token_id=tokenizer.pad_token_id,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    torch.manual_seed(seed)
    model = T5ForConditionalGeneration(config)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def build_tiny_gpt2(
    path: str | Path, *, n_embd: int = 64, layers: int = 2, vocab_size: int = 600, seed: int = 0
) -> Path:
    """Save an untrained GPT-2 with a byte-level BPE tokenizer trained here and a ChatML chat template.

    The end-of-turn token `<|im_end|>` is the EOS token, so generation stops at the end of a reply.
    """
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    path = Path(path)
    specials = ["<|endoftext|>", "<|im_start|>", CHAT_END]
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    bpe.train_from_iterator(_CORPUS.splitlines(), trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe, bos_token="<|endoftext|>", eos_token=CHAT_END, pad_token="<|endoftext|>"
    )
    tokenizer.chat_template = CHATML_TEMPLATE
    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=1024,
        n_embd=n_embd,
        n_layer=layers,
        n_head=4,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    model = GPT2LMHeadModel(config)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def train_tiny_seq2seq(
    path: str | Path, pairs: Sequence[tuple[str, str]], *, steps: int = 60, lr: float = 1e-2, seed: int = 0
) -> Path:
    """Teach the seq2seq model at `path` to map each source to its target (memorise), and save it back."""
    import torch
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    path = Path(path)
    torch.manual_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSeq2SeqLM.from_pretrained(path)
    batch = tokenizer([s for s, _ in pairs], padding=True, return_tensors="pt")
    labels = tokenizer([t for _, t in pairs], padding=True, return_tensors="pt").input_ids
    labels[labels == tokenizer.pad_token_id] = -100  # padding does not count in the loss
    _fit(model, lambda: model(**batch, labels=labels).loss, steps, lr)
    model.save_pretrained(path)
    return path


def train_tiny_causal(
    path: str | Path, pairs: Sequence[tuple[str, str]], *, steps: int = 60, lr: float = 1e-2, seed: int = 0
) -> Path:
    """Teach the causal model at `path` to continue each prompt with its completion, and save it back.

    The loss covers the completion only; give the completion its end token (e.g. CHAT_END) so it stops.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = Path(path)
    torch.manual_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path)
    rows, masks, label_rows = [], [], []
    encoded = []
    for prompt, completion in pairs:
        p = tokenizer(prompt, add_special_tokens=False).input_ids
        c = tokenizer(completion, add_special_tokens=False).input_ids
        encoded.append((p, c))
    width = max(len(p) + len(c) for p, c in encoded)
    for p, c in encoded:
        pad = width - len(p) - len(c)
        rows.append(p + c + [tokenizer.pad_token_id] * pad)
        masks.append([1] * (len(p) + len(c)) + [0] * pad)
        label_rows.append([-100] * len(p) + c + [-100] * pad)
    input_ids, attention, labels = torch.tensor(rows), torch.tensor(masks), torch.tensor(label_rows)
    _fit(model, lambda: model(input_ids=input_ids, attention_mask=attention, labels=labels).loss, steps, lr)
    model.save_pretrained(path)
    return path


def _fit(model, loss_fn, steps: int, lr: float) -> None:  # noqa: ANN001
    import torch

    # One thread: on a busy 2-core machine torch's thread pool makes these tiny steps ~20x slower.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model.train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
        # Linear decay to zero: a high rate learns fast, the decay lets it settle on the memorised answer.
        schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1 - step / steps)
        for _ in range(steps):
            optimizer.zero_grad()
            loss = loss_fn()
            loss.backward()
            optimizer.step()
            schedule.step()
        model.eval()
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def one_torch_thread() -> Iterator[None]:
    """One torch thread for the module, then the loaded models are dropped."""
    import torch

    from core.proposers.hf_loading import clear_loaded_models

    # Tiny models run faster on one thread, and much faster on a busy 2-core machine.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
    clear_loaded_models()


@pytest.fixture
def empty_cache() -> None:
    """Each test starts with an empty shared rewrite cache, so no answer comes from an earlier test."""
    from core.proposers.rewrites import SHARED_CACHE

    SHARED_CACHE.clear()
