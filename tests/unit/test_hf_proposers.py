"""The transformers proposers on tiny models built offline, saved, and loaded back through the Auto classes."""

import shutil
import threading
import time

import pytest
import torch

from core.errors import InputError, ProposerError
from core.proposers import make_request, to_edits
from core.proposers.base import Avoid, SpecData
from core.proposers.hf import ChatProposer, Seq2SeqProposer
from core.proposers.hf_loading import load_model, resolve_device, resolve_dtype
from core.proposers.prompts import build_messages
from core.proposers.rewrites import SHARED_CACHE
from tests.tinymodels import (  # noqa: F401 (fixtures, applied by pytestmark)
    CHAT_END,
    build_tiny_gpt2,
    build_tiny_t5,
    empty_cache,
    one_torch_thread,
    train_tiny_causal,
    train_tiny_seq2seq,
)

# The tiny T5 learns these three instructions for one sentence; anything else it answers with garbage.
SENTENCE = "He go home."
FIXED = "He goes home."
PARAPHRASED = "He heads home."
T5_PAIRS = [
    (f"Fix the grammar: {SENTENCE}", FIXED),
    (f"Make this text coherent: {SENTENCE}", FIXED),
    (f"Paraphrase this: {SENTENCE}", PARAPHRASED),
]
CHAT_TEXT = f"{SENTENCE} The weather was very nice all day long and we stayed outside."
CHAT_FEEDBACK = "keep it short"


pytestmark = pytest.mark.usefixtures("one_torch_thread", "empty_cache")


def chat_request(**kwargs):
    return make_request(CHAT_TEXT, intents=("fluency",), feedback=CHAT_FEEDBACK, **kwargs)


@pytest.fixture(scope="module")
def trained_t5(tmp_path_factory):
    path = build_tiny_t5(tmp_path_factory.mktemp("models") / "t5-trained")
    return str(train_tiny_seq2seq(path, T5_PAIRS, steps=80))


@pytest.fixture(scope="module")
def raw_t5(tmp_path_factory):
    return str(build_tiny_t5(tmp_path_factory.mktemp("models") / "t5-raw"))


@pytest.fixture(scope="module")
def trained_chat(tmp_path_factory):
    """A tiny GPT-2 taught to answer the hf-chat prompt for SENTENCE (in CHAT_TEXT) with a labelled fix."""
    from transformers import AutoTokenizer

    path = build_tiny_gpt2(tmp_path_factory.mktemp("models") / "gpt2-chat")
    tokenizer = AutoTokenizer.from_pretrained(path)
    request = chat_request()
    prompt = tokenizer.apply_chat_template(
        build_messages(request.sentences[0], request), tokenize=False, add_generation_prompt=True
    )
    # The label must be parsed away: the reply is read as a chat model's reply.
    return str(train_tiny_causal(path, [(prompt, f"Revised: {FIXED}{CHAT_END}")]))


def seq2seq(model, **params):
    return Seq2SeqProposer(SpecData(kind="hf-seq2seq", model=model, params=params, name="tiny-t5"))


def chat(model, **params):
    return ChatProposer(SpecData(kind="hf-chat", model=model, params=params, name="tiny-chat"))


# --- hf-seq2seq -----------------------------------------------------------------------------------


def test_seq2seq_rewrites_become_suggestions_and_edits(trained_t5):
    text = f"Qwerty zxcv asdf jkl uiop.  {SENTENCE}\n"
    request = make_request(text, intents=("fluency", "coherence", "paraphrase"))
    result = seq2seq(trained_t5).propose(request)

    [suggestion] = result.suggestions
    assert text[suggestion.start : suggestion.end] == SENTENCE
    assert suggestion.replacement == FIXED
    assert suggestion.intent == "fluency"  # first intent asked for wins
    assert suggestion.alternatives == (PARAPHRASED,)  # coherence gave the same rewrite: merged
    assert suggestion.explanation == "tiny-t5 (fluency)" and suggestion.source == "tiny-t5"
    assert 0 < suggestion.score <= 1
    # The untrained sentence's garbage is dropped with reasons, one per intent, never proposed.
    assert {d.sentence_index for d in result.dropped} == {0}
    assert sorted(d.reason.split(":")[0] for d in result.dropped) == ["coherence", "fluency", "paraphrase"]
    assert all(d.output for d in result.dropped)

    [edit] = to_edits(text, result.suggestions)
    assert (edit.before, edit.after, edit.intent, edit.source) == ("go", "goes", "fluency", "tiny-t5")


def test_seq2seq_intent_order_decides_the_suggestion(trained_t5):
    request = make_request(SENTENCE, intents=("paraphrase", "fluency"))
    [suggestion] = seq2seq(trained_t5).propose(request).suggestions
    assert (suggestion.replacement, suggestion.intent, suggestion.alternatives) == (PARAPHRASED, "paraphrase", (FIXED,))


def test_seq2seq_prefixes_come_from_params(trained_t5):
    # The fluency instruction replaced by the paraphrase one: the model paraphrases for "fluency".
    swapped = seq2seq(trained_t5, prefixes={"fluency": "Paraphrase this: "})
    [suggestion] = swapped.propose(make_request(SENTENCE, intents=("fluency",))).suggestions
    assert (suggestion.replacement, suggestion.intent) == (PARAPHRASED, "fluency")
    # An intent without a prefix is not asked for at all.
    removed = seq2seq(trained_t5, prefixes={"fluency": ""}).propose(make_request(SENTENCE, intents=("fluency",)))
    assert removed.suggestions == [] and removed.dropped == []


def test_untrained_model_garbage_is_dropped_with_reasons(raw_t5):
    request = make_request("The results was good. We goes to the park yesterday.", intents=("fluency", "simplify"))
    result = seq2seq(raw_t5, max_new_tokens=40).propose(request)
    assert result.suggestions == []
    assert len(result.dropped) == 4  # 2 sentences x 2 intents
    kinds = ("empty output", "runaway", "repetitive", "too far from the sentence")
    for dropped in result.dropped:
        intent, reason = dropped.reason.split(": ", 1)
        assert intent in ("fluency", "simplify")
        assert reason.startswith(kinds), reason


def test_token_budget_limits_generation_and_marks_runaways(raw_t5):
    proposer = seq2seq(raw_t5, max_new_tokens=5, new_tokens_extra=0)
    loaded = proposer.load()
    jobs = proposer.jobs(make_request("The results was good.", intents=("fluency",)))
    [output], stopped = proposer.generate(loaded, jobs, None, None)
    assert stopped is None
    assert len(output.text.encode()) <= 5  # ByT5: one token per byte
    assert output.hit_limit  # the untrained model (seed 0) does not stop by itself within 5 tokens
    [dropped] = proposer.propose(make_request("The results was good.", intents=("fluency",))).dropped
    assert dropped.reason == "fluency: runaway: generation hit the max_new_tokens limit"


# --- hf-chat ----------------------------------------------------------------------------------


def test_chat_model_proposes_through_its_chat_template(trained_chat):
    result = chat(trained_chat).propose(chat_request())
    # Sentence 0 is answered as trained ("Revised: ..." is parsed away) although it was batched
    # (left-padded) with the longer sentence 1, whose garbage is dropped.
    [suggestion] = result.suggestions
    assert (suggestion.start, suggestion.end, suggestion.replacement) == (0, len(SENTENCE), FIXED)
    assert suggestion.intent == "fluency" and suggestion.explanation == "tiny-chat (fluency)"
    assert [d.sentence_index for d in result.dropped] == [1]


def test_chat_needs_a_chat_template(tmp_path):
    path = build_tiny_gpt2(tmp_path / "no-template")
    (path / "chat_template.jinja").unlink()
    with pytest.raises(ProposerError, match="no chat template"):
        chat(str(path)).propose(make_request(SENTENCE))


# --- loading ----------------------------------------------------------------------------------


def test_loading_errors_say_what_to_give(tmp_path, trained_chat):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ProposerError, match="Could not load model .*give a Hugging Face model id or a local path"):
        seq2seq(str(tmp_path / "empty")).propose(make_request(SENTENCE))
    with pytest.raises(ProposerError, match="encoder-decoder"):
        seq2seq(trained_chat).propose(make_request(SENTENCE))
    with pytest.raises(ProposerError, match="needs a model"):
        Seq2SeqProposer(SpecData(kind="hf-seq2seq"))
    with pytest.raises(InputError, match="batch_size"):
        seq2seq(trained_chat, batch_size=0)


def test_model_is_loaded_once_per_device_and_dtype(trained_t5):
    first, second = seq2seq(trained_t5).load(), seq2seq(trained_t5, batch_size=2).load()
    assert first is second and first.device == "cpu"
    half = seq2seq(trained_t5, dtype="bfloat16").load()
    assert half is not first and half.model.dtype == torch.bfloat16
    [suggestion] = seq2seq(trained_t5, dtype="bf16").propose(make_request(SENTENCE, intents=("fluency",))).suggestions
    assert suggestion.replacement == FIXED


def test_device_and_dtype_choice():
    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") in ("cuda", "mps", "cpu")
    assert resolve_dtype("auto", "cpu") == torch.float32
    assert resolve_dtype("fp16", "cpu") == torch.float16
    with pytest.raises(ProposerError, match="Unknown device"):
        resolve_device("tpu")
    with pytest.raises(ProposerError, match="Unknown dtype"):
        resolve_dtype("int3", "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ProposerError, match="CUDA is not available"):
            resolve_device("cuda")


# --- cache, threads, cancel, timeout, progress ------------------------------------------------------


def test_unchanged_sentences_are_served_from_the_cache(trained_t5, trained_chat):
    proposer = seq2seq(trained_t5)
    request = make_request(f"{SENTENCE} Qwerty zxcv asdf jkl uiop.", intents=("fluency", "paraphrase"))
    first = proposer.propose(request)
    hits = SHARED_CACHE.hits
    # A new proposer for the same spec (as each round builds one) hits the cache for all 4 jobs.
    again = seq2seq(trained_t5).propose(request)
    assert SHARED_CACHE.hits - hits == 4
    assert again.suggestions == first.suggestions and again.dropped == first.dropped
    # An edited sentence misses; the unchanged one still hits.
    hits, misses = SHARED_CACHE.hits, SHARED_CACHE.misses
    seq2seq(trained_t5).propose(make_request(f"{SENTENCE} Qwerty zxcv asdf!", intents=("fluency", "paraphrase")))
    assert (SHARED_CACHE.hits - hits, SHARED_CACHE.misses - misses) == (2, 2)
    # Other settings are another spec: no hits.
    hits = SHARED_CACHE.hits
    seq2seq(trained_t5, num_beams=2).propose(request)
    assert SHARED_CACHE.hits == hits
    # Chat: a rejection about another sentence leaves this sentence's prompt (and cache entry) alone.
    chat(trained_chat).propose(chat_request())
    hits = SHARED_CACHE.hits
    chat(trained_chat).propose(chat_request(avoid=[Avoid("weather", "climate")]))
    assert SHARED_CACHE.hits - hits == 1
    hits = SHARED_CACHE.hits
    assert chat(trained_chat, cache=False).propose(chat_request()).suggestions[0].replacement == FIXED
    assert SHARED_CACHE.hits == hits


def test_threads_share_one_model_safely(trained_t5, trained_chat):
    # Two threads per model at once; the chat model has a fast (Rust) tokenizer, which must not be
    # used by two threads at a time. Each thread's result must equal the single-threaded one.
    text = " ".join([SENTENCE, "Qwerty zxcv asdf jkl uiop.", "The results was good.", "We goes to the park."] * 2)
    makers = [
        lambda: seq2seq(trained_t5, cache=False, batch_size=3),
        lambda: chat(trained_chat, cache=False, batch_size=3),
    ]
    expected = [make().propose(make_request(text, intents=("fluency", "paraphrase"))) for make in makers]
    results, errors = {}, []

    def run(slot, make):
        try:
            results[slot] = make().propose(make_request(text, intents=("fluency", "paraphrase")))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=((m, n), makers[m])) for m in (0, 1) for n in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for (m, _), result in results.items():
        assert result.suggestions == expected[m].suggestions and result.dropped == expected[m].dropped
    assert len(results) == 4
    assert any(r.suggestions for r in expected)


def test_cancel_between_batches_keeps_finished_sentences(trained_t5):
    cancel = threading.Event()
    seen = []

    def progress(done, total):
        seen.append((done, total))
        if done >= 1:
            cancel.set()

    text = f"{SENTENCE} Qwerty zxcv asdf jkl uiop. Zxcv qwerty asdf jkl."
    request = make_request(text, intents=("fluency",), progress=progress, cancel=cancel)
    result = seq2seq(trained_t5, batch_size=1).propose(request)
    assert result.cancelled
    assert seen[0] == (0, 3) and seen[-1] == (1, 3)
    # Only the sentence generated before the cancel is reported (the shortest goes first).
    assert len(result.suggestions) + len({d.sentence_index for d in result.dropped}) == 1

    cancel_first = threading.Event()
    cancel_first.set()
    early = seq2seq(trained_t5).propose(make_request(text, cancel=cancel_first))
    assert early.cancelled and early.suggestions == [] and early.dropped == []


def test_generation_stops_at_the_deadline_or_on_cancel(raw_t5):
    proposer = seq2seq(raw_t5, max_new_tokens=200)
    loaded = proposer.load()
    jobs = proposer.jobs(make_request("The results was good.", intents=("fluency",)))
    # The stopping criterion ends generation after the first step once the deadline is past.
    assert proposer.generate(loaded, jobs, time.monotonic(), None) == ([], "timeout")
    cancel = threading.Event()
    cancel.set()
    assert proposer.generate(loaded, jobs, None, cancel) == ([], "cancel")


def test_request_timeout_drops_what_was_not_generated(trained_t5):
    request = make_request(f"{SENTENCE} Qwerty zxcv asdf jkl uiop.", intents=("fluency",), timeout_s=1e-6)
    result = seq2seq(trained_t5).propose(request)
    assert result.suggestions == [] and not result.cancelled
    assert [d.reason for d in result.dropped] == ["timeout: not generated within 1e-06 s"] * 2
    assert len(SHARED_CACHE) == 0  # nothing half-done is cached
    # With time, the same request generates.
    assert seq2seq(trained_t5).propose(make_request(SENTENCE, intents=("fluency",))).suggestions


def test_progress_reports_sentences_done_out_of_total(trained_t5):
    seen = []
    text = f"{SENTENCE} Qwerty zxcv asdf jkl uiop. Zxcv qwerty asdf jkl.\n\n"
    request = make_request(text, intents=("fluency", "paraphrase"), progress=lambda d, t: seen.append((d, t)))
    seq2seq(trained_t5, batch_size=2).propose(request)
    assert seen[0] == (0, 3) and seen[-1] == (3, 3)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_blank_text_needs_no_model(tmp_path):
    (tmp_path / "empty").mkdir()
    result = seq2seq(str(tmp_path / "empty")).propose(make_request("   \n\n  "))
    assert result.suggestions == [] and result.dropped == []


def test_copied_model_dir_is_another_model(tmp_path, trained_t5):
    # The cache of loaded models is keyed by the resolved path: a copy loads on its own.
    copy = shutil.copytree(trained_t5, tmp_path / "copy")
    assert seq2seq(str(copy)).load() is not seq2seq(trained_t5).load()
    assert load_model(str(copy), "seq2seq") is seq2seq(str(copy)).load()
