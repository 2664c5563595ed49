"""Transformers proposers: any encoder-decoder model (kind hf-seq2seq, CoEdIT style) or any causal model
with a chat template (kind hf-chat), from a Hugging Face id or a local path.

Each rewrites whole sentences; `core.proposers.to_edits` diffs the rewrites into word-level edits.
Sentences are sorted by length and generated in padded batches; the model is loaded once per process
(`hf_loading`) and a lock is held around tokenise + generate. Generation is bounded: new tokens are
capped relative to the sentence, and a stopping criterion ends a batch at the request's deadline or on
cancel (cancel is also checked between batches). Outputs are cached (`rewrites.SHARED_CACHE`) and every
output passes the guards (`guards`) or is dropped with its reason.

Spec params (all optional):
  device: "auto"            auto | cpu | cuda | cuda:N | mps
  dtype: "auto"             auto | float32 | float16 | bfloat16
  batch_size: 8             sentences (x intents) per generate call
  num_beams: 1              1 = greedy; scores are exp(mean token log-prob) either way
  max_new_tokens: 256       hard cap on new tokens per output ...
  new_tokens_ratio: 1.5     ... which is otherwise ratio * sentence tokens + new_tokens_extra
  new_tokens_extra: 16 (seq2seq) / 48 (chat)
  timeout_s: none           wall-clock limit per request (the request's own timeout_s wins when set)
  cache: true               serve unchanged inputs from the process-wide cache
  alternatives: "aligned"   (seq2seq) which other intents' rewrites become alternatives, see rewrites.py
  prefixes: {intent: text}  (seq2seq) instruction prefixes, see prompts.DEFAULT_PREFIXES
  system_prompt, max_examples, max_avoid   (chat) see prompts.build_messages
  trust_remote_code: false
  plus the guard thresholds in core.proposers.guards
"""

from __future__ import annotations

import math
import threading
import time
from typing import Any, cast

import torch
from transformers import LogitsProcessor, LogitsProcessorList, StoppingCriteria, StoppingCriteriaList

from core.errors import ProposerError
from core.proposers.base import ProposalRequest, ProposalResult, SpecData
from core.proposers.cache import cache_key
from core.proposers.feedback_use import FEEDBACK_USE
from core.proposers.guards import GuardSettings
from core.proposers.hf_loading import Family, LoadedModel, load_model
from core.proposers.prompts import DEFAULT_MAX_AVOID, DEFAULT_MAX_EXAMPLES, build_messages, seq2seq_prefixes
from core.proposers.registry import spec_fingerprint
from core.proposers.rewrites import (
    SHARED_CACHE,
    Budget,
    Generated,
    Job,
    JobBoard,
    alternatives_param,
    float_param,
    int_param,
    model_label,
    sentences_to_revise,
)


class _DeadlineOrCancel(StoppingCriteria):
    """Ends generation of the whole batch once the deadline passes or the cancel event is set."""

    def __init__(self, deadline: float | None, cancel: threading.Event | None) -> None:
        self.deadline = deadline
        self.cancel = cancel
        self.reason: str | None = None

    def __call__(self, input_ids: torch.LongTensor, scores: Any, **kwargs: Any) -> torch.BoolTensor:  # noqa: ANN401
        if self.cancel is not None and self.cancel.is_set():
            self.reason = "cancel"
        elif self.deadline is not None and time.monotonic() >= self.deadline:
            self.reason = "timeout"
        done = torch.full((input_ids.shape[0],), self.reason is not None, dtype=torch.bool, device=input_ids.device)
        return cast(torch.BoolTensor, done)  # a bool tensor (torch types `full` as a plain Tensor)


class _GreedyLogProbs(LogitsProcessor):
    """Records, per step, the log-probability of the token greedy search picks (the arg-max), so a
    sequence score costs one log-softmax per step instead of keeping every step's full logits."""

    def __init__(self) -> None:
        self.steps: list[torch.Tensor] = []

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        self.steps.append(torch.log_softmax(scores.float(), dim=-1).max(dim=-1).values)
        return scores


class _TransformersProposer:
    family: Family
    chat: bool
    default_extra_tokens: int

    def __init__(self, spec: SpecData) -> None:
        if not spec.model:
            raise ProposerError(f"Kind {spec.kind} needs a model: a Hugging Face model id or a local path.")
        params = dict(spec.params)
        self.spec = spec
        self.label = model_label(spec)
        self.fingerprint = spec_fingerprint(spec)
        self.batch_size = int_param(params, "batch_size", 8)
        self.num_beams = int_param(params, "num_beams", 1)
        self.budget = Budget.from_params(params, extra=self.default_extra_tokens)
        self.timeout_s = float_param(params, "timeout_s", None)
        self.guards = GuardSettings.from_params(params)
        self.alternatives = alternatives_param(params)
        self.cache = SHARED_CACHE if params.get("cache", True) else None
        self._params = params

    def load(self) -> LoadedModel:
        """Load the model (once per process); raises ProposerError with what to do if it cannot."""
        return load_model(
            self.spec.model or "",
            self.family,
            device=self._params.get("device"),
            dtype=self._params.get("dtype"),
            trust_remote_code=bool(self._params.get("trust_remote_code", False)),
        )

    def jobs(self, request: ProposalRequest) -> list[Job]:
        raise NotImplementedError

    def render(self, loaded: LoadedModel, jobs: list[Job]) -> list[str]:
        raise NotImplementedError

    def propose(self, request: ProposalRequest) -> ProposalResult:
        board = JobBoard(request, self.jobs(request), self.cache)
        pending = board.serve_cached()
        timeout = request.timeout_s if request.timeout_s is not None else self.timeout_s
        deadline = time.monotonic() + timeout if timeout is not None else None
        if pending and not request.cancelled:
            loaded = self.load()
            # Similar lengths together: less padding, and short batches finish early.
            order = sorted(pending, key=lambda i: board.jobs[i].size)
            for n in range(0, len(order), self.batch_size):
                batch = order[n : n + self.batch_size]
                if request.cancelled:
                    board.cancelled = True
                    break
                if deadline is not None and time.monotonic() >= deadline:
                    board.fail(order[n:], f"timeout: not generated within {timeout:g} s")
                    break
                outputs, stopped = self.generate(loaded, [board.jobs[i] for i in batch], deadline, request.cancel)
                if stopped == "cancel":
                    board.cancelled = True
                    break
                if stopped == "timeout":
                    board.fail(order[n:], f"timeout: generation stopped after {timeout:g} s")
                    break
                for i, output in zip(batch, outputs, strict=True):
                    board.complete(i, output)
                board.report()
        elif pending:
            board.cancelled = True
        board.report()
        return board.result(label=self.label, guards=self.guards, chat=self.chat, alternatives=self.alternatives)

    def generate(
        self, loaded: LoadedModel, jobs: list[Job], deadline: float | None, cancel: threading.Event | None
    ) -> tuple[list[Generated], str | None]:
        """Generate for one batch; returns the outputs, or ([], "timeout"/"cancel") if it was stopped."""
        tokenizer, model = loaded.tokenizer, loaded.model
        stop = _DeadlineOrCancel(deadline, cancel)
        scorer = _GreedyLogProbs() if self.num_beams == 1 else None
        with loaded.lock:
            prompts = self.render(loaded, jobs)
            sentence_ids = tokenizer([j.core for j in jobs], add_special_tokens=False)["input_ids"]
            max_new = self.budget.tokens(max(len(ids) for ids in sentence_ids))
            # Seq2seq inputs need the tokenizer's special tokens (T5's </s>); a chat template adds its own.
            enc = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=not self.chat)
            enc = enc.to(loaded.device)
            kwargs: dict[str, Any] = {
                "max_new_tokens": max_new,
                "do_sample": False,
                "num_beams": self.num_beams,
                "stopping_criteria": StoppingCriteriaList([stop]),
                "return_dict_in_generate": True,
                "pad_token_id": tokenizer.pad_token_id,
            }
            if scorer is not None:
                kwargs["logits_processor"] = LogitsProcessorList([scorer])
            else:
                kwargs["output_scores"] = True  # beam search then reports sequences_scores
            try:
                with torch.inference_mode():
                    out = model.generate(**enc, **kwargs)
            except Exception as exc:  # a model/input mismatch surfaces here (too long for the model, OOM, ...)
                raise ProposerError(f"Model {self.label!r} failed to generate: {type(exc).__name__}: {exc}") from exc
            if stop.reason is not None:
                return [], stop.reason
            sequences = out.sequences
            # Encoder-decoder outputs start with the decoder start token; causal ones repeat the prompt.
            new = sequences[:, 1:] if model.config.is_encoder_decoder else sequences[:, enc["input_ids"].shape[1] :]
            texts = tokenizer.batch_decode(new, skip_special_tokens=True)
        return self._outputs(loaded, new, texts, scorer, out), None

    def _outputs(
        self,
        loaded: LoadedModel,
        new: torch.Tensor,
        texts: list[str],
        scorer: _GreedyLogProbs | None,
        out: Any,  # noqa: ANN401
    ) -> list[Generated]:
        eos = loaded.eos_ids
        is_eos = torch.zeros_like(new, dtype=torch.bool)
        for token in eos:
            is_eos |= new == token
        ended = is_eos.any(dim=1)
        # Tokens up to and including the first EOS count in a row's score.
        lengths = torch.where(
            ended, is_eos.int().argmax(dim=1) + 1, torch.full_like(ended, new.shape[1], dtype=torch.long)
        )
        if scorer is not None and scorer.steps:
            logprobs = torch.stack(scorer.steps, dim=1)[:, : new.shape[1]]
            steps = torch.arange(logprobs.shape[1], device=logprobs.device)
            mask = steps[None, :] < lengths[:, None].to(logprobs.device)
            mean = (logprobs * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1)
            scores: list[float | None] = [round(math.exp(v), 4) for v in mean.tolist()]
        elif getattr(out, "sequences_scores", None) is not None:
            scores = [round(math.exp(v), 4) for v in out.sequences_scores.float().tolist()]
        else:
            scores = [None] * len(texts)
        return [
            Generated(text=t, hit_limit=not bool(e), score=s)
            for t, e, s in zip(texts, ended.tolist(), scores, strict=True)
        ]


class Seq2SeqProposer(_TransformersProposer):
    """Kind hf-seq2seq: one rewrite per (sentence, intent) from an instruction prefix + the sentence."""

    family: Family = "seq2seq"
    chat = False
    default_extra_tokens = 16

    def __init__(self, spec: SpecData) -> None:
        super().__init__(spec)
        self.prefixes = seq2seq_prefixes(self._params)

    @staticmethod
    def describe_feedback_use() -> str:
        return FEEDBACK_USE["hf-seq2seq"]

    def jobs(self, request: ProposalRequest) -> list[Job]:
        jobs = []
        for sentence in sentences_to_revise(request):
            core = sentence.text.strip()
            # Intents without a prefix (e.g. meaning-changed, unless the project gives one) are not asked for.
            for intent in request.intents:
                prefix = self.prefixes.get(intent)
                if prefix is None:
                    continue
                key = cache_key(self.fingerprint, core, intent=intent, prefix=prefix)
                jobs.append(Job(sentence, intent, prefix + core, key, len(prefix) + len(core)))
        return jobs

    def render(self, loaded: LoadedModel, jobs: list[Job]) -> list[str]:
        return [j.prompt for j in jobs]


class ChatProposer(_TransformersProposer):
    """Kind hf-chat: one prompt per sentence (context, intents, feedback, examples, rejections) through
    the model's chat template; the reply is parsed robustly (`prompts.parse_reply`)."""

    family: Family = "causal"
    chat = True
    default_extra_tokens = 48

    def __init__(self, spec: SpecData) -> None:
        super().__init__(spec)
        self.system_prompt = self._params.get("system_prompt")
        self.max_examples = int_param(self._params, "max_examples", DEFAULT_MAX_EXAMPLES, minimum=0)
        self.max_avoid = int_param(self._params, "max_avoid", DEFAULT_MAX_AVOID, minimum=0)

    @staticmethod
    def describe_feedback_use() -> str:
        return FEEDBACK_USE["hf-chat"]

    def jobs(self, request: ProposalRequest) -> list[Job]:
        jobs = []
        for sentence in sentences_to_revise(request):
            messages = build_messages(
                sentence, request, system=self.system_prompt, max_examples=self.max_examples, max_avoid=self.max_avoid
            )
            key = cache_key(self.fingerprint, sentence.text.strip(), messages=messages)
            jobs.append(Job(sentence, None, messages, key, sum(len(m["content"]) for m in messages)))
        return jobs

    def render(self, loaded: LoadedModel, jobs: list[Job]) -> list[str]:
        return [render_chat(loaded, j.prompt) for j in jobs]


def render_chat(loaded: LoadedModel, messages: list[dict[str, str]]) -> str:
    """The prompt text from the model's chat template, ready for the assistant's reply."""
    tokenizer = loaded.tokenizer
    if not getattr(tokenizer, "chat_template", None):
        raise ProposerError(
            f"Model {loaded.name!r} has no chat template; use kind hf-seq2seq for encoder-decoder models, "
            "or an instruct/chat model for hf-chat."
        )
    try:
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    except Exception as exc:  # some templates (e.g. Gemma's) reject a system message
        if messages and messages[0]["role"] == "system" and "system" in str(exc).lower():
            merged = [{"role": "user", "content": messages[0]["content"] + "\n\n" + messages[1]["content"]}]
            return tokenizer.apply_chat_template(merged + messages[2:], tokenize=False, add_generation_prompt=True)
        raise ProposerError(f"The chat template of model {loaded.name!r} failed: {exc}") from exc
