"""An image-only Qwen2.5-VL processor.

The stock `Qwen2_5_VLProcessor` requires a video processor, and the video processors need
torchvision, which cannot be imported beside the CPU torch build. This subclass keeps the stock
image and text handling and drops the video part. A saved folder names it in
`processor_config.json` (`processor_class`) without an `auto_map`: the harness loads it by this
class (`harness.engine.hf.load_processor`), so no code from a model folder ever runs.
"""

from transformers.models.qwen2_5_vl.processing_qwen2_5_vl import Qwen2_5_VLProcessor
from transformers.processing_utils import ProcessorMixin


class ImageOnlyQwen2_5_VLProcessor(Qwen2_5_VLProcessor):
    def __init__(self, image_processor=None, tokenizer=None, chat_template=None, **kwargs):
        self.image_token = getattr(tokenizer, "image_token", None) or "<|image_pad|>"
        self.video_token = getattr(tokenizer, "video_token", None) or "<|video_pad|>"
        self.image_token_id = tokenizer.convert_tokens_to_ids(self.image_token)
        self.video_token_id = tokenizer.convert_tokens_to_ids(self.video_token)
        ProcessorMixin.__init__(self, image_processor, tokenizer, chat_template=chat_template)
