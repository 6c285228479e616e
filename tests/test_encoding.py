import pytest

from dongne.datasets import data_path
from dongne.errors import EncodingError
from dongne.io import detect_encoding
from dongne.io.encoding import read_text

TEXT = '구,인구\n종로구,"1,234"\n'


@pytest.mark.parametrize(
    ("data", "expected", "reason"),
    [
        (TEXT.encode("utf-8"), "utf-8", "decodes as UTF-8"),
        (TEXT.encode("utf-8-sig"), "utf-8-sig", "byte-order mark"),
        (TEXT.encode("cp949"), "cp949", "decodes as CP949 (EUC-KR)"),
        (TEXT.encode("euc-kr"), "cp949", "decodes as CP949 (EUC-KR)"),
        (TEXT.encode("utf-16"), "utf-16", "byte-order mark"),
        (b"a,b\n1,2\n", "utf-8", "ASCII only"),
    ],
)
def test_detects_korean_encodings(tmp_path, data, expected, reason):
    p = tmp_path / "t.csv"
    p.write_bytes(data)
    got = detect_encoding(p)
    assert (got.encoding, got.reason) == (expected, reason)
    assert read_text(p)[0].replace("\r\n", "\n").lstrip("\ufeff") == data.decode(expected)


def test_cp949_only_characters_beyond_euc_kr(tmp_path):
    # '똠' and '햏' exist in CP949 (UHC extension) but not in EUC-KR (KS X 1001).
    p = tmp_path / "t.csv"
    p.write_bytes("이름\n똠방각하\n햏\n".encode("cp949"))
    assert detect_encoding(p).encoding == "cp949"


def test_late_cp949_byte_is_found(tmp_path):
    p = tmp_path / "t.csv"
    p.write_bytes(b"a,b\n" + b"1,2\n" * 50_000 + "종로구,3\n".encode("cp949"))
    assert detect_encoding(p).encoding == "cp949"


def test_real_files():
    assert detect_encoding(data_path("raw/seoul_basic.csv")).encoding == "cp949"
    assert detect_encoding(data_path("seoul_cctv_2023.csv")).encoding == "utf-8"


def test_wrong_hint_names_the_working_encoding(tmp_path):
    p = tmp_path / "t.csv"
    p.write_bytes(TEXT.encode("cp949"))
    with pytest.raises(EncodingError, match=r"t\.csv cannot be read as 'utf-8'.*line 1.*cp949"):
        read_text(p, encoding="utf-8")


def test_undecodable_file(tmp_path):
    p = tmp_path / "t.csv"
    p.write_bytes(b"ok\n\x80\xff\x80\xff\n")
    with pytest.raises(EncodingError, match=r"neither UTF-8 nor CP949.*Fix: pass encoding"):
        detect_encoding(p)


def test_euc_kr_alias(tmp_path):
    p = tmp_path / "t.csv"
    p.write_bytes(TEXT.encode("cp949"))
    assert read_text(p, encoding="EUC-KR")[1].encoding == "cp949"
