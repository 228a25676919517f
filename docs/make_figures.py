"""Draw the figures of the "Partial ancestor matrices" page into docs/img/.

Run from the repository root after changing a figure: python docs/make_figures.py
The PNGs are committed, so building the docs does not run this script.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import networkx as nx
import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.patches import Patch

from skcfm import ancestor_matrix, merge_pams, tiered_pam, unconfoundedness_pam

IMG = Path(__file__).resolve().parent / "img"
COVARIATES = ["age", "education", "black", "hispanic", "married", "nodegree", "re74", "re75"]
# an assumed graph over the LaLonde variables, drawn for illustration only
EDGES = [
    ("age", "married"), ("age", "re74"), ("education", "nodegree"), ("education", "re74"),
    ("black", "re74"), ("hispanic", "re74"), ("married", "re74"), ("re74", "re75"),
    ("age", "treat"), ("nodegree", "treat"), ("re75", "treat"), ("black", "treat"),
    ("education", "re78"), ("re75", "re78"), ("married", "re78"), ("treat", "re78"),
]
POSITION = {
    "age": (-3, 4), "black": (-0.8, 4), "hispanic": (0.9, 4), "education": (2.8, 4),
    "married": (-1.9, 2.8), "nodegree": (3.2, 2.6), "re74": (0, 2.5), "re75": (0, 1.3),
    "treat": (-1.3, 0), "re78": (1.3, 0),
}
# colours for -1 (known non-ancestor), 0 (unknown), 1 (known ancestor)
COLOURS = ["#e8a27c", "#f2f2f2", "#4c86c6"]
LEGEND = [
    Patch(color=COLOURS[2], label="1: known ancestor"),
    Patch(color=COLOURS[0], label="-1: known non-ancestor"),
    Patch(facecolor=COLOURS[1], edgecolor="0.6", label="0: unknown"),
]


def draw_graph(path: Path) -> None:
    graph = nx.DiGraph(EDGES)
    fig, ax = plt.subplots(figsize=(7.5, 5.2))
    nx.draw_networkx_edges(
        graph, POSITION, ax=ax, node_size=0, arrowsize=14, edge_color="0.45",
        min_source_margin=14, min_target_margin=17, connectionstyle="arc3,rad=0.06",
    )
    for node, (x, y) in POSITION.items():
        colour = "#f4c542" if node == "treat" else "#8fd19e" if node == "re78" else "#d9e6f5"
        ax.text(x, y, node, ha="center", va="center", fontsize=10,
                bbox={"boxstyle": "round,pad=0.45", "facecolor": colour, "edgecolor": "0.3"})
    ax.set_title("An assumed causal graph over the LaLonde variables")
    ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def draw_pam(pam, ax, title: str) -> None:
    values = pam.to_numpy()
    ax.imshow(values + 1, cmap=ListedColormap(COLOURS), vmin=0, vmax=2)
    labels = list(pam.index)
    ax.set_xticks(range(len(labels)), labels, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(j, i, f"{values[i, j]:d}", ha="center", va="center", fontsize=7, color="0.15")
    ax.set_xticks(np.arange(len(labels) + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(len(labels) + 1) - 0.5, minor=True)
    ax.grid(which="minor", color="white", linewidth=1)
    ax.tick_params(which="minor", length=0)
    ax.set_xlabel("descendant (column)")
    ax.set_ylabel("ancestor (row)")
    ax.set_title(title, fontsize=10)


def main() -> None:
    IMG.mkdir(exist_ok=True)
    draw_graph(IMG / "lalonde_graph.png")

    full = ancestor_matrix(EDGES, treatment="treat", outcome="re78", covariates=COVARIATES)
    fig, ax = plt.subplots(figsize=(6.2, 6))
    draw_pam(full, ax, "PAM of the whole graph: ancestor_matrix(graph, ...)")
    fig.legend(handles=LEGEND, loc="lower center", ncol=3, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    fig.savefig(IMG / "lalonde_pam.png", dpi=110)
    plt.close(fig)

    unconfounded = unconfoundedness_pam(COVARIATES, treatment="treat", outcome="re78")
    tiers = tiered_pam([["age", "black", "hispanic"], ["education", "married", "nodegree", "re74", "re75"],
                        ["treat"], ["re78"]])
    merged = merge_pams(unconfounded, tiers).loc[unconfounded.index, unconfounded.columns]
    fig, axes = plt.subplots(1, 2, figsize=(11.5, 6.2))
    draw_pam(unconfounded, axes[0], "Unconfoundedness only: unconfoundedness_pam(...)")
    draw_pam(merged, axes[1], "Merged with temporal tiers: merge_pams(..., tiered_pam(...))")
    fig.legend(handles=LEGEND, loc="lower center", ncol=3, fontsize=9, frameon=False)
    fig.tight_layout(rect=(0, 0.07, 1, 0.98))
    fig.savefig(IMG / "partial_pam.png", dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
