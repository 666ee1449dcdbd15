"""The classifier's metadata is one frozen, typed record (issue 25), read from and written back to the same JSON."""

from __future__ import annotations

import dataclasses

import pytest

from atomgraph.classify import ClassifierMeta, load_classifier
from atomgraph.classify.inference import read_inference_classifier


@pytest.mark.parametrize("model", ["graphene-si", "mose2-w", "hbn"])
def test_a_bundled_model_reads_as_a_record_and_writes_back_the_same_metadata(model):
    clf = load_classifier(model)
    stored = read_inference_classifier(clf.path)[1]
    meta = clf.meta
    assert isinstance(meta, ClassifierMeta)
    assert meta.material == stored["material"] and list(meta.labels) == stored["labels"]
    assert list(meta.node_features) == stored["node_features"] and meta.temperature == pytest.approx(
        stored["temperature"])
    assert ClassifierMeta.from_dict(meta.to_dict()).to_dict() == meta.to_dict()
    assert meta.to_dict() == {k: v for k, v in stored.items() if v is not None or k == "vacancy_label"}


def test_the_record_is_frozen_and_its_maps_read_only():
    meta = load_classifier("graphene-si").meta
    with pytest.raises(dataclasses.FrozenInstanceError):
        meta.threshold = 0.1
    with pytest.raises(TypeError):
        meta.label_elements["Si3"] = "Ge"
    assert dict(meta.label_sites) == {"C": 1, "Si3": 1, "Si4": 2}


def test_one_vacancy_label_or_several_are_one_field():
    one = ClassifierMeta.from_dict({"material": "m", "labels": ["Mo", "Sevac"], "vacancy_label": "Sevac"})
    none = ClassifierMeta.from_dict({"material": "m", "labels": ["C"], "vacancy_label": None})
    several = ClassifierMeta.from_dict({"material": "m", "labels": ["B", "VB", "VN"], "vacancy_label": None,
                                        "vacancy_labels": ["VB", "VN"], "vacancy_roles": {"VB": "A", "VN": "B"}})
    assert one.vacancy_labels == ("Sevac",) and none.vacancy_labels == () and several.vacancy_labels == ("VB", "VN")
    assert "vacancy_labels" not in one.to_dict() and one.to_dict()["vacancy_label"] == "Sevac"
    assert several.to_dict()["vacancy_roles"] == {"VB": "A", "VN": "B"} and several.to_dict()["vacancy_label"] is None
