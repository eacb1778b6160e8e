"""Trains a byte-level BPE on the text read from stdin (one document a line, JSON strings) and writes
tokenizer.json and tokenizer_config.json into the folder named by argv[1]; argv[2] is the vocabulary size,
argv[3] a JSON list of entities added as tokens of their own (one id each, matched before the BPE).

Run through make.ts, which renders the corpus: npx tsx recipes/hotel-tokenizer/make.ts
"""
import json
import sys
from pathlib import Path

from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers

out, vocab_size, entities = Path(sys.argv[1]), int(sys.argv[2]), json.loads(sys.argv[3])
documents = [json.loads(line) for line in sys.stdin if line.strip()]

tok = Tokenizer(models.BPE())
tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
tok.decoder = decoders.ByteLevel()
# <s>, </s> and <pad> as the test tokenizer has them; ChatML's two tokens are the recipe's (tokens.chatml).
trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<s>", "</s>", "<pad>"],
                              initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
tok.train_from_iterator(documents, trainer)
# Single characters are one token already; longer entities win over their prefixes (longest match).
tok.add_tokens([AddedToken(e, normalized=False) for e in entities if len(e) > 1])
out.mkdir(exist_ok=True)
tok.save(str(out / "tokenizer.json"))
config = {"bos_token": "<s>", "eos_token": "</s>", "pad_token": "<pad>", "add_bos_token": True,
          "tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": 2048}
(out / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n")
print(f"{out}: {tok.get_vocab_size()} tokens from {len(documents)} documents")
