"""The material config as typed pydantic models: one model per YAML section, the defaults in one place.

Every section forbids unknown keys and checks types strictly (a quoted ``"2.46"`` is not a number), so a typo or a
wrong type fails at load time with the key named. Ranges (:class:`~atomgraph.config.range.Range`) are a number or a
``[low, high]`` pair. Units are in the key names: lengths in Å (``_A``), doses in e/Å² (``_e_per_A2``), angles in
degrees (``_deg``), pixel sizes in Å/px, sizes in px (``_px``).

Examples
--------
>>> cfg = MaterialConfig.model_validate({"name": "x", "family": "honeycomb", "labels": ["C"],
...     "lattice": {"a_A": 2.46, "host": {"A": "C", "B": "C"}}, "host_labels": {"A": "C", "B": "C"},
...     "defects": [], "image": {"dose_e_per_A2": 1e5}})
>>> round(cfg.graph.bond_A, 3), cfg.image.pixel_size_A, cfg.classifier.hidden
(1.42, Range(0.1), 32)
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from ase.data import chemical_symbols
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from .range import Range

__all__ = ["Section", "LatticeConfig", "DefectConfig", "ImageConfig", "GraphConfig", "LocatorConfig",
           "ClassifierConfig", "MovieConfig", "MaterialConfig"]


def _positive(r: Range) -> Range:
    if r.low <= 0:
        raise ValueError(f"must be > 0, got {r.to_plain()!r}")
    return r


def _non_negative(r: Range) -> Range:
    if r.low < 0:
        raise ValueError(f"must be >= 0, got {r.to_plain()!r}")
    return r


def _unit(r: Range) -> Range:
    if r.low < 0 or r.high > 1:
        raise ValueError(f"must lie in [0, 1], got {r.to_plain()!r}")
    return r


PositiveRange = Annotated[Range, AfterValidator(_positive)]
NonNegativeRange = Annotated[Range, AfterValidator(_non_negative)]
UnitRange = Annotated[Range, AfterValidator(_unit)]
PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNegativeFloat = Annotated[float, Field(ge=0, allow_inf_nan=False)]
PositiveInt = Annotated[int, Field(gt=0)]


class Section(BaseModel):
    """Base of every section: unknown keys are errors, types are strict, assignments are validated."""

    model_config = ConfigDict(extra="forbid", strict=True, validate_assignment=True)


class LatticeConfig(Section):
    """``lattice:`` the ideal crystal."""

    a_A: PositiveFloat
    """Lattice constant, Å."""
    host: dict[str, str]
    """Sublattice role -> element, e.g. ``{A: C, B: C}`` or ``{metal: Mo, chalcogen: Se}``."""
    thickness_A: PositiveFloat = 3.2
    """TMD only: vertical distance between the two chalcogen layers, Å."""


class DefectConfig(Section):
    """One entry of ``defects:``: a label, the recipe that makes it and how many per image."""

    label: str
    recipe: str
    element: str | None = None
    """Element the recipe puts in (dopants); the recipe's own default when absent."""
    count: NonNegativeRange | None = None
    """Defects per image (an integer range, both ends included); 1 when neither count nor fraction is given."""
    fraction: NonNegativeRange | None = None
    """Alloy recipes: fraction of the eligible sites."""
    projected_bond_A: PositiveRange | None = None
    """Honeycomb substitution and divacancy_center: projected dopant-host distance, Å, drawn per bond (default:
    the lattice bond; the divacancy's own geometry)."""
    height_A: float = Field(0.0, allow_inf_nan=False)
    """Out-of-plane height of a substituted dopant, Å."""
    dopant_offset_A: NonNegativeRange | None = None
    """Honeycomb substitution and divacancy_center: in-plane distance of the dopant from its lattice site (the
    pair's center), random direction, Å."""
    neighbor_jitter_A: NonNegativeRange | None = None
    """Honeycomb divacancy_center / vacancy: rms displacement (per axis) of the host neighbors, Å (relaxation)."""
    role: str | None = None
    """Sublattice role the recipe is restricted to (``A`` or ``B`` in a honeycomb); any role the recipe allows
    when absent."""
    line_sites: PositiveRange | None = None
    """TMD chalcogen_line_vacancy: empty sites in the row (an integer range; default 3-6)."""
    neighbor_shift_A: NonNegativeRange | None = None
    """TMD chalcogen_line_vacancy: metal columns next to the row move this far toward its axis, Å (default 0)."""

    @model_validator(mode="after")
    def _count_or_fraction(self) -> DefectConfig:
        if self.count is not None and self.fraction is not None:
            raise ValueError("give 'count' or 'fraction', not both")
        if self.count is None and self.fraction is None:
            self.__dict__["count"] = Range(1)  # the default, set without re-running validation
        return self


class ImageConfig(Section):
    """``image:`` every range the image simulator draws from (one draw per image)."""

    size_px: Annotated[int, Field(ge=8)] = 512
    """Side of the simulated image, px."""
    pixel_size_A: PositiveRange = Range(0.1)
    """Å per pixel."""
    dose_e_per_A2: PositiveRange = Range(1e5)
    """Electron dose, e/Å², drawn log-uniformly."""
    cross_section_A2: PositiveRange = Range(0.01)
    """HAADF cross section of the reference element, Å²."""
    reference_Z: PositiveInt = 6
    """Atomic number whose column scatters ``cross_section_A2``."""
    z_exponent: PositiveRange = Range(1.7)
    """Contrast exponent n of Z^n."""
    probe_fwhm_A: PositiveRange = Range(1.0)
    """Full width at half maximum of the probe core, Å."""
    probe_tail_fraction: UnitRange = Range(0.0)
    """Share of the probe intensity in the wide tail."""
    probe_tail_width_factor: PositiveRange = Range(4.0)
    """Tail width over core width."""
    thermal_jitter_A: NonNegativeRange = Range(0.0)
    """rms random displacement of each column, Å."""
    rotation_deg: Range = Range(0.0)
    """Lattice rotation, degrees."""
    line_jitter_px: NonNegativeRange = Range(0.0)
    """rms fast-axis shift per scan line, px."""
    line_jitter_correlation: UnitRange = Range(0.0)
    """Line-to-line correlation of the jitter (AR(1) coefficient)."""
    scan_lag_px: NonNegativeRange = Range(0.0)
    """Detector lag along the fast-scan axis, px."""
    line_gain_noise: NonNegativeRange = Range(0.0)
    """Relative gain fluctuation per scan line."""
    drift_fraction: NonNegativeRange = Range(0.0)
    """Slow drift over the frame, as a fraction of the frame size."""
    shear: Range = Range(0.0)
    """Affine scan shear (dimensionless)."""
    scale_anisotropy: Range = Range(0.0)
    """Relative x/y scale difference (dimensionless)."""
    background_fraction: NonNegativeRange = Range(0.0)
    """Mean background over mean lattice signal."""
    background_scale_A: PositiveRange = Range(20.0)
    """Correlation length of the background, Å."""
    gain: PositiveRange = Range(1.0)
    """Detector units per scattered electron."""
    read_noise: NonNegativeRange = Range(0.0)
    """Gaussian read noise, electrons (rms)."""
    detector_offset: NonNegativeRange = Range(0.0)
    """Constant detector offset, detector units."""
    dopant_blur_A: NonNegativeRange = Range(0.0)
    """rms spread of dopant columns (dopants that move or flip during the scan), Å."""
    eight_bit_fraction: Annotated[float, Field(ge=0, le=1)] | None = None
    """Share of the images written as 8-bit files are: scaled to 0-255, rounded and clipped (drawn per image;
    absent: none, and no random number is drawn, so older seeds give the same images)."""
    clip_fraction: UnitRange | None = None
    """8-bit images: share of the brightest pixels clipped at 255 (a detector or export that saturates)."""


class GraphConfig(Section):
    """``graph:`` neighbor cutoffs and vacancy inference."""

    bond_A: PositiveFloat | None = None
    """Nominal projected bond, Å (default ``lattice.a_A / sqrt(3)``)."""
    cutoffs_A: dict[str, NonNegativeFloat] = {}
    """Element pair ``'A-B'`` -> neighbor cutoff, Å (0 = no edge for that pair)."""
    vacancy_fill_radius_A: PositiveFloat | None = None
    """An expected site with a node this close is not empty, Å (default ``0.6 * bond_A``)."""
    vacancy_label: str | None = None
    """Label of vacancy nodes (must be in ``labels``); none for materials without one."""
    vacancy_labels: list[str] | None = None
    """Several vacancy labels, one per sublattice (hBN: ``[VB, VN]``), instead of ``vacancy_label``: a vacancy node
    takes the one whose defect sits on the node's sublattice."""
    vacancy_max_fraction: NonNegativeFloat = 0.05
    """At most this many inferred vacancy nodes per real atom (the overflow is flagged)."""
    dopant_pair_A: PositiveFloat | None = None
    """Two dopant columns closer than this are one structure no taught label holds (a dopant dimer or trimer): both
    are flagged novel, Å (default ``1.5 * bond_A``: bonded dopants only). Graphene: 3.1, the third-neighbor shell
    (2.84 Å, across a hexagon) with room for relaxation, as real Si2 pairs on second-neighbor sites are dimers; a
    TMD alloy keeps the default, as dopants on neighboring metal sites are no new structure."""

    @model_validator(mode="after")
    def _one_vacancy_key(self) -> GraphConfig:
        if self.vacancy_label is not None and self.vacancy_labels is not None:
            raise ValueError("give 'graph.vacancy_label' or 'graph.vacancy_labels', not both")
        if self.vacancy_labels is not None and len(set(self.vacancy_labels)) != len(self.vacancy_labels):
            raise ValueError("key 'graph.vacancy_labels': must be a list of distinct strings")
        return self

    @property
    def all_vacancy_labels(self) -> list[str]:
        """Every vacancy label: ``vacancy_labels``, else ``[vacancy_label]``, else ``[]``."""
        if self.vacancy_labels is not None:
            return list(self.vacancy_labels)
        return [self.vacancy_label] if self.vacancy_label is not None else []

    @field_validator("cutoffs_A")
    @classmethod
    def _pairs(cls, cutoffs: dict[str, float]) -> dict[str, float]:
        for key in cutoffs:
            parts = key.split("-")
            if len(parts) != 2 or not all(p in chemical_symbols[1:] for p in parts):
                raise ValueError(f"key '{key}' must look like 'A-B' with two element symbols (e.g. 'C-Si')")
        return cutoffs


class LocatorConfig(Section):
    """``locator:`` what a locator for this material detects and how it is trained."""

    pixel_size_A: PositiveFloat | None = None
    """Native sampling of the network, Å/px."""
    classes: list[str] | None = None
    """Species classes the network tells apart (elements, e.g. ``[C, Si]``)."""
    train_dose_e_per_A2: PositiveRange | None = None
    """Dose range of the training images, e/Å² (default: ``image.dose_e_per_A2``)."""
    train_mix: dict[str, Annotated[float, Field(ge=0, le=1)]] = {}
    """Other material -> fraction of training images drawn from its config."""
    train_element_map: dict[str, str] = {}
    """Element of a mixed-in material -> one of ``classes``."""
    train_empty_fraction: UnitRange | None = None
    """Share of the atoms removed at random from each training image (drawn per image): the network must report the
    columns that are there, not complete the lattice (without it a graphene locator put a column on every empty
    site). Not a defect class: nothing is labeled, atoms are just absent."""
    train_displaced_fraction: UnitRange | None = None
    """Share of the atoms moved off their sites at random in each training image (drawn per image), each by a
    distance drawn from ``train_displacement_A`` in a random in-plane direction."""
    train_displacement_A: PositiveRange = Range(0.3, 1.2)
    """In-plane distance of a displaced atom from its site, Å."""

    @model_validator(mode="after")
    def _mix(self) -> LocatorConfig:
        if sum(self.train_mix.values()) > 1:
            raise ValueError("the 'train_mix' fractions add up to more than 1")
        return self


class ClassifierConfig(Section):
    """``classifier:`` network size and training budget of the node classifier."""

    hidden: PositiveInt = 32
    """Width of the hidden node features."""
    layers: PositiveInt = 4
    """Message-passing layers."""
    minutes: PositiveFloat = 10.0
    """Wall-clock budget of data generation plus training, minutes."""
    steps: PositiveInt | None = None
    """Optimizer steps (default: as many as ``minutes`` allows)."""
    lr: PositiveFloat = 3e-3
    """Peak learning rate (AdamW, cosine decay)."""
    batch_graphs: PositiveInt = 4
    """Graphs per optimizer step."""
    size_px: PositiveRange = Range(160, 320)
    """Side of the training images, px (drawn per image; always written as ``[low, high]``)."""
    max_graphs: PositiveInt = 2500
    """At most this many training graphs."""
    heldout_graphs: PositiveInt = 24
    """Graphs kept aside for the model card's metrics."""
    data_fraction: Annotated[float, Field(gt=0, le=1)] = 0.4
    """Share of ``minutes`` spent simulating training graphs."""

    @field_validator("size_px")
    @classmethod
    def _pair(cls, r: Range) -> Range:
        return Range(r.low, r.high)  # the trainer unpacks [low, high]


MOVIE_EVENT_KINDS = ("dopant_to_divacancy", "dopant_hop", "chalcogen_loss", "chalcogen_vacancy", "host_vacancy")


class MovieConfig(Section):
    """``movie:`` simulated movies (``atomgraph simulate --frames``): drift and beam-driven event rates."""

    drift_A_per_frame: NonNegativeFloat = 1.0
    """Drift step per frame (random walk), Å."""
    max_drift_A: PositiveFloat = 8.0
    """The drift stays within this distance of the first frame's position, Å."""
    rates: dict[str, NonNegativeFloat] = {}
    """Event kind -> expected events per frame in the field of view (kinds: see ``MOVIE_EVENT_KINDS``)."""

    @field_validator("rates")
    @classmethod
    def _kinds(cls, rates: dict[str, float]) -> dict[str, float]:
        for key in rates:
            if key not in MOVIE_EVENT_KINDS:
                raise ValueError(f"unknown event kind '{key}' (known: {', '.join(MOVIE_EVENT_KINDS)})")
        return rates


class MaterialConfig(Section):
    """A whole material config (``configs/*.yaml``); see :func:`atomgraph.config.load_material_config`."""

    name: Annotated[str, Field(min_length=1)]
    family: str
    """Lattice family: ``honeycomb`` or ``tmd``."""
    description: str | None = None
    lattice: LatticeConfig
    labels: list[str]
    """Label vocabulary, host labels first."""
    host_labels: dict[str, str]
    """Sublattice role -> host label."""
    defects: list[DefectConfig]
    min_separation_A: PositiveFloat = 5.0
    """Smallest distance between two count-based defects, Å (unless placed as a cluster)."""
    cluster_fraction: UnitRange | None = None
    """Share of the count-based defects placed *next to* an earlier one, ``cluster_distance_A`` from its center
    (drawn per image): vacancy pairs, a single vacancy beside a double one, two dopants a few Å apart. Absent: none,
    and no random number is drawn."""
    cluster_distance_A: PositiveRange = Range(2.3, 3.5)
    """Distance of a clustered defect from the defect it joins, Å."""
    defect_edge_margin_A: NonNegativeFloat | None = None
    """Defects keep this far from the frame edge, Å (absent: 2.5 bonds, so their neighbors stay in view; 0: up to
    the edge, as in real frames)."""
    image: ImageConfig
    graph: GraphConfig = Field(default_factory=GraphConfig)
    locator: LocatorConfig = Field(default_factory=LocatorConfig)
    classifier: ClassifierConfig = Field(default_factory=ClassifierConfig)
    movie: MovieConfig = Field(default_factory=MovieConfig)

    @model_validator(mode="after")
    def _cross_references(self) -> MaterialConfig:
        if len(set(self.labels)) != len(self.labels):
            raise ValueError("key 'labels': must be a list of distinct strings")
        for i, defect in enumerate(self.defects):
            if defect.label not in self.labels:
                raise ValueError(f"key 'defects[{i}].label': '{defect.label}' is not in 'labels'")
        for role, label in self.host_labels.items():
            if label not in self.labels:
                raise ValueError(f"key 'host_labels.{role}': '{label}' is not in 'labels'")
        key = "graph.vacancy_labels" if self.graph.vacancy_labels is not None else "graph.vacancy_label"
        for vacancy in self.graph.all_vacancy_labels:
            if vacancy not in self.labels:
                raise ValueError(f"key '{key}': '{vacancy}' is not in 'labels'")
        classes = self.locator.classes or []
        for element, cls in self.locator.train_element_map.items():
            if classes and cls not in classes:
                raise ValueError(f"key 'locator.train_element_map.{element}': '{cls}' is not in 'locator.classes'")
        graph = self.graph.__dict__  # derived defaults, set without re-running validation
        if graph["bond_A"] is None:
            graph["bond_A"] = self.lattice.a_A / math.sqrt(3.0)
        if graph["vacancy_fill_radius_A"] is None:
            graph["vacancy_fill_radius_A"] = 0.6 * graph["bond_A"]
        return self

    def to_dict(self) -> dict[str, Any]:
        """The plain form of the config.

        Returns
        -------
        dict
            YAML types: ranges as a number or ``[low, high]``; unset optional keys left out.
        """
        return self.model_dump(exclude_none=True)
