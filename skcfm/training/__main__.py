"""Command line: ``python -m skcfm.training {train,eval} ...``."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from .configs import CONFIGS


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {text}")
    return value


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m skcfm.training", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    train_cmd = commands.add_parser("train", help="pretrain or resume a model")
    train_cmd.add_argument("--config", default="small", choices=sorted(CONFIGS))
    train_cmd.add_argument("--out", required=True, help="run directory (checkpoint and logs)")
    train_cmd.add_argument("--resume", action="store_true", help="continue from OUT/last.pt if it exists")
    train_cmd.add_argument("--steps", type=_positive_int, default=None,
                           help="stop at this step (default: the schedule's end)")
    train_cmd.add_argument("--max-minutes", type=float, default=None, help="stop after this much wall time")
    train_cmd.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    train_cmd.add_argument("--batch-size", type=_positive_int, default=None, help="data sets per step and process")
    train_cmd.add_argument("--seed", type=int, default=0)
    train_cmd.add_argument("--compile", action="store_true", help="torch.compile the model")
    train_cmd.add_argument("--threads", type=_positive_int, default=None,
                           help="torch CPU threads (default: torch's choice)")
    train_cmd.add_argument("--no-progress", action="store_true",
                           help="no progress bar (also off with SKCFM_PROGRESS=0, or without tqdm)")
    train_cmd.add_argument("--total-steps", type=_positive_int, default=None,
                           help="length of the cosine schedule; on resume, lengthens it from the checkpoint's step")
    train_cmd.add_argument("--update-prior", action="store_true",
                           help="on --resume, train on the named config's current prior, not the checkpoint's")
    split_cmd = commands.add_parser("split-tails", help="split a checkpoint's outer bars into finer tail bars")
    split_cmd.add_argument("checkpoint")
    split_cmd.add_argument("--out", required=True, help="run directory for the split checkpoint (then train --resume)")
    split_cmd.add_argument("--tail-bars", type=_positive_int, default=8, help="bars per tail (default: 8)")
    average_cmd = commands.add_parser("average", help="average a checkpoint's weights with another model of its run")
    average_cmd.add_argument("checkpoint", help="a run's last.pt; the result keeps its step, optimiser and config")
    average_cmd.add_argument("other", help="another model of the same run: a last.pt or exported .safetensors")
    average_cmd.add_argument("--weight", type=float, required=True, help="the checkpoint's share, within [0, 1]")
    average_cmd.add_argument("--out", required=True, help="run directory for the averaged checkpoint")
    eval_cmd = commands.add_parser("eval", help="validation metrics of a checkpoint, with and without the PAM")
    eval_cmd.add_argument("checkpoint")
    eval_cmd.add_argument("--batches", type=_positive_int, default=None,
                          help="validation batches (default: the config's)")
    eval_cmd.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    export_cmd = commands.add_parser("export", help="ship a checkpoint as safetensors + JSON model card")
    export_cmd.add_argument("checkpoint")
    export_cmd.add_argument("--name", default="cfm-small", help="file name under skcfm/weights/")
    export_cmd.add_argument("--out-dir", default=None, help="default: the package's weights folder")
    export_cmd.add_argument("--hardware", default="", help="what the run trained on, for the model card")
    args = parser.parse_args(argv)

    from . import train as training  # imported late: argparse errors stay fast

    if args.command == "train":
        if not args.resume and (Path(args.out) / training.CHECKPOINT_NAME).exists():
            parser.error(f"{Path(args.out) / training.CHECKPOINT_NAME} exists: pass --resume to continue that run, "
                         "or choose a new --out")
        if args.threads:
            import torch

            torch.set_num_threads(args.threads)
        metrics = training.train(
            args.config, args.out, resume=args.resume, steps=args.steps, device=args.device, seed=args.seed,
            compile_model=args.compile, batch_size=args.batch_size, max_minutes=args.max_minutes,
            progress=not args.no_progress, update_prior=args.update_prior, total_steps=args.total_steps,
        )
    elif args.command == "split-tails":
        from .tails import split_tail_bars

        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        if (out / training.CHECKPOINT_NAME).exists():
            parser.error(f"{out / training.CHECKPOINT_NAME} exists; choose a new --out")
        checkpoint = split_tail_bars(training.load_checkpoint(args.checkpoint), args.tail_bars)
        training.save_checkpoint(checkpoint, out / training.CHECKPOINT_NAME)
        metrics = {"checkpoint": str(out / training.CHECKPOINT_NAME), "step": checkpoint["step"],
                   "n_bars": checkpoint["head_history"][-1]["n_bars"]}
    elif args.command == "average":
        out = Path(args.out)
        if (out / training.CHECKPOINT_NAME).exists():
            parser.error(f"{out / training.CHECKPOINT_NAME} exists; choose a new --out")
        from .averaging import average_run

        metrics = average_run(args.checkpoint, args.other, args.weight, out)
    elif args.command == "export":
        from ..pretrained import WEIGHTS_DIR, export_model

        path = training.export_with_history(
            args.checkpoint, (Path(args.out_dir) if args.out_dir else WEIGHTS_DIR) / args.name, args.hardware,
            export_model,
        )
        metrics = {"weights": str(path), "card": str(path.with_suffix(".json"))}
    else:
        checkpoint = training.load_checkpoint(args.checkpoint)
        model = training.model_from_checkpoint(checkpoint).to(args.device)
        config = training.TrainConfig.from_dict(checkpoint["train_config"])
        metrics = training.evaluate(model, training.validation_set(config, args.batches), args.device)
        metrics = {"step": checkpoint["step"], "datasets_seen": checkpoint["datasets_seen"], **metrics}
    if os.environ.get("RANK", "0") == "0":  # under torchrun only rank 0 reports
        print(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    main()
