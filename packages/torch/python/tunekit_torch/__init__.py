"""tunekit_torch: the PyTorch worker of tunekit.

Runs the train, merge, generate and eval nodes of a compiled tunekit graph on PyTorch,
transformers and PEFT. The TypeScript driver (`@tunekit/torch`) writes a node spec (JSON) and
starts `python -m tunekit_torch run node.json`; the worker prints RunEvent JSON lines on stdout
and logs on stderr. It runs by itself too, so a compiled graph can be carried to a machine
without Node.
"""

__version__ = "0.1.0"

# Exit codes the driver maps to catalog errors.
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
# Interrupted by SIGINT/SIGTERM after writing a checkpoint (sysexits EX_TEMPFAIL: "try again").
EXIT_INTERRUPTED = 75
# The spec asks for something this machine cannot do (CUDA absent, package missing).
EXIT_UNAVAILABLE = 69
