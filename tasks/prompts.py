"""Prompt text shared by tasks, as the papers' released code words it."""

# Paper A's RFT format (EasyR1's math format prompt): appended to the user text after one space.
THINK_BOXED_INSTRUCTION = (
    "You FIRST think about the reasoning process as an internal monologue and then provide the "
    "final answer. The reasoning process MUST BE enclosed within <think> </think> tags. "
    "The final answer MUST BE put in \\boxed{}."
)

# The release's short-answer instructions (LLaMA-Factory test files of Paper A).
SHORT_ANSWER = "Answer the question using a single word or phrase."
OPTION_LETTER = "Answer with the option's letter from the given choices directly."
UNANSWERABLE = "When the provided information is insufficient, respond with 'Unanswerable'."

# Paper B's jigsaw answer format.
THINK_ANSWER_INSTRUCTION = (
    "First think about the reasoning process inside <think> </think> tags, then give the final "
    "answer inside <answer> </answer> tags."
)


def with_cot(text: str) -> str:
    """The user text followed by Paper A's think/boxed instruction (trimmed, one space between)."""
    return text.strip() + " " + THINK_BOXED_INSTRUCTION


# Paper A's no-CoT ablation (EasyR1's no_cot format prompt).
NO_COT_INSTRUCTION = "You MUST provide the final answer directly."


def with_no_cot(text: str) -> str:
    """The user text followed by the no-CoT instruction (trimmed, one space between)."""
    return text.strip() + " " + NO_COT_INSTRUCTION


def user_turn(text: str, n_images: int) -> list[dict]:
    """One user message: the images first, in order, then the text (the release's layout)."""
    parts: list[dict] = [{"type": "image"} for _ in range(n_images)]
    parts.append({"type": "text", "text": text})
    return [{"role": "user", "content": parts}]
