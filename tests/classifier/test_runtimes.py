"""The classifier's runtimes: which one a model and config get, and that the TFLite file reads real faces
as the Keras model does."""

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from moodstream.classifier.predictor import Predictor
from moodstream.classifier.runtimes import _dequantize, _quantize, choose
from moodstream.config import DetectorSettings
from moodstream.detector.crops import square_crop
from moodstream.detector.finder import FaceFinder
from moodstream.detector.haar import Haar
from moodstream.detector.methods import image_of
from moodstream.modelspec import PROJECT_MODELS, ModelError, ModelSpec, resolve_model_dir

DEFAULT = PROJECT_MODELS / "fer-vgg32"


@pytest.fixture(scope="module")
def spec() -> ModelSpec:
    return ModelSpec.load(DEFAULT)


@pytest.fixture(scope="module")
def keras_only(tmp_path_factory: pytest.TempPathFactory) -> ModelSpec:
    folder = tmp_path_factory.mktemp("model")
    card = json.loads((DEFAULT / "model.json").read_text())
    card.pop("tflite")
    (folder / "model.json").write_text(json.dumps(card))
    shutil.copyfile(DEFAULT / card["file"], folder / card["file"])
    return ModelSpec.load(folder)


def test_the_default_model_offers_a_tflite_file_with_its_own_figures(spec: ModelSpec) -> None:
    assert spec.tflite is not None and spec.tflite_path is not None and spec.tflite_path.exists()
    keras_val, tflite_val = spec.metrics["val"], spec.tflite["metrics"]["val"]
    assert abs(keras_val["accuracy"] - tflite_val["accuracy"]) < 0.005
    assert abs(keras_val["macro_f1"] - tflite_val["macro_f1"]) < 0.005


def test_runtime_choice(spec: ModelSpec, keras_only: ModelSpec) -> None:
    assert choose(spec, "auto", "cpu") == "tflite"
    assert choose(spec, "tflite", "auto") == "tflite"
    assert choose(spec, "keras", "cpu") == "keras"
    assert choose(spec, "auto", "gpu") == "keras"  # a GPU runs the Keras model
    assert choose(keras_only, "auto", "cpu") == "keras"
    with pytest.raises(ModelError, match="names no TFLite file"):
        choose(keras_only, "tflite", "cpu")
    with pytest.raises(ModelError, match="runs on the CPU"):
        choose(spec, "tflite", "gpu")
    with pytest.raises(ModelError, match="runtime must be one of"):
        choose(spec, "onnx", "cpu")


def test_a_missing_tflite_file_is_a_clear_error(tmp_path: Path) -> None:
    card = json.loads((DEFAULT / "model.json").read_text())
    (tmp_path / "model.json").write_text(json.dumps(card))
    shutil.copyfile(DEFAULT / card["file"], tmp_path / card["file"])
    with pytest.raises(ModelError, match="TFLite file model.json names is missing"):
        ModelSpec.load(tmp_path)


def test_quantized_io_round_trips() -> None:
    detail = {"dtype": np.int8, "quantization": (1 / 255.0, -128)}
    x = np.linspace(0, 1, 11, dtype=np.float32)
    q = _quantize(x, detail)
    assert q.dtype == np.int8 and q.min() == -128 and q.max() == 127
    np.testing.assert_allclose(_dequantize(q, detail), x, atol=1 / 255.0)
    assert _quantize(x, {"dtype": np.float32}) is x


def _faces(video: Path, size: int, n: int = 24) -> np.ndarray:
    """Real face crops, as the detector cuts them, from every 5th frame of a sample video."""
    cfg = DetectorSettings(method="haar")
    finder = FaceFinder(Haar(cfg), cfg)
    cap = cv2.VideoCapture(str(video))
    crops: list[np.ndarray] = []
    index = 0
    while len(crops) < n:
        ok, frame = cap.read()
        if not ok:
            break
        index += 1
        if index % 5 == 0:
            image = image_of(frame)
            crops += [square_crop(image.gray, f.box, size) for f in finder.scan(image)]
    cap.release()
    assert len(crops) >= n // 2, f"only {len(crops)} faces found in {video}"
    return np.stack(crops[:n])


def test_tflite_reads_real_faces_as_keras_does(spec: ModelSpec, sample_video: Path) -> None:
    crops = _faces(sample_video, spec.size)
    lite = Predictor(spec, max_batch=8, device="cpu", runtime="tflite")
    full = Predictor(spec, max_batch=8, device="cpu", runtime="keras")
    assert (lite.runtime, lite.backend, full.runtime) == ("tflite", "tflite", "keras")
    a, b = lite.predict_crops(crops), full.predict_crops(crops)  # 3 batches, the last one padded
    assert a.shape == b.shape == (len(crops), 7)
    np.testing.assert_allclose(a.sum(axis=1), 1.0, atol=1e-3)
    assert np.abs(a - b).max() < 0.1
    assert (a.argmax(axis=1) == b.argmax(axis=1)).mean() >= 0.9
    # The per-face baseline of the benchmark is the Keras model's predict, under either runtime.
    np.testing.assert_allclose(lite.predict_per_face(crops[:2]), b[:2], atol=1e-4)


def copy_model(folder: Path) -> dict:
    card = json.loads((DEFAULT / "model.json").read_text())
    for name in (card["file"], card["tflite"]["file"]):
        shutil.copyfile(DEFAULT / name, folder / name)
    (folder / "model.json").write_text(json.dumps(card))
    return card


def test_model_files_must_match_their_sums_and_lie_in_the_folder(tmp_path: Path) -> None:
    card = copy_model(tmp_path)
    assert ModelSpec.load(tmp_path).name == "fer-vgg32"
    with (tmp_path / card["file"]).open("ab") as f:
        f.write(b"\0")  # one byte more: not the file model.json vouches for
    with pytest.raises(ModelError, match="does not match model.json"):
        ModelSpec.load(tmp_path)
    escaping = {**card, "file": "../elsewhere/model.keras"}
    (tmp_path / "model.json").write_text(json.dumps(escaping))
    with pytest.raises(ModelError, match="outside the model folder"):
        ModelSpec.load(tmp_path)
    unsummed = {k: v for k, v in card.items() if k != "sha256"}
    copy_model(tmp_path)
    (tmp_path / "model.json").write_text(json.dumps(unsummed))
    with pytest.raises(ModelError, match="no sha256 recorded"):
        ModelSpec.load(tmp_path)


def test_h5_is_loaded_only_when_it_is_the_pinned_borrowed_model(tmp_path: Path, assets) -> None:
    assert ModelSpec.load(assets["model"]).format == "keras-h5"  # the pinned default
    card = {**json.loads((assets["model"] / "model.json").read_text()), "sha256": {}}
    (tmp_path / card["file"]).write_bytes((assets["model"] / card["file"]).read_bytes() + b"\0")
    (tmp_path / "model.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match="H5 models are loaded only when sha-pinned"):
        ModelSpec.load(tmp_path)


def test_names_resolve_to_the_project_and_the_cache_never_the_current_folder(
    tmp_path: Path, monkeypatch
) -> None:
    (tmp_path / "fer-vgg32").mkdir()
    (tmp_path / "fer-vgg32" / "model.json").write_text("{}")
    monkeypatch.chdir(tmp_path)
    assert resolve_model_dir("fer-vgg32") == PROJECT_MODELS / "fer-vgg32"
    assert resolve_model_dir("./fer-vgg32") == Path("fer-vgg32")
    assert resolve_model_dir("fer-vgg32", base=tmp_path) == PROJECT_MODELS / "fer-vgg32"
