import pandas as pd
import pytest

from dongne.datasets import data_path
from dongne.errors import DataError
from dongne.io import check_counts, read_table


def test_cp949_csv_with_thousands_and_korean_headers():
    df = read_table(data_path("raw/seoul_basic.csv"))
    meta = df.attrs["dongne"]
    assert meta["encoding"] == "cp949"
    assert len(df) == 25
    assert "기초생활수급_노인비율" in df.columns
    assert df.loc[0, "geo"] == "종로구"
    assert df.loc[0, "code"] == "11010"  # code column stays text
    assert df["real_price"].dtype == "int64" and df.loc[0, "real_price"] == 2299  # "2,299"
    assert df["house"].sum() == 3_785_433  # published Seoul 2015 total (data README)
    assert df["under_house"].sum() == 228_467


def test_kosis_title_lines_auto():
    p = data_path("raw/kosis_census2010_population_by_gu_age.csv")
    df = read_table(p, title_lines="auto")
    assert df.attrs["dongne"]["title_lines_skipped"] == 2
    assert list(df.columns[:2]) == ["C행정구역별", "행정구역별"]
    assert len(df) == 7728
    # The apostrophe marker is stripped and the leading space of names removed.
    seoul_total = df[(df["C행정구역별"] == "11") & (df["연령별"] == "계")]
    assert seoul_total["행정구역별"].tolist() == ["서울특별시"]
    assert seoul_total["인구 (명)"].iloc[0] == 9_631_482  # published Seoul row
    assert read_table(p, title_lines=2).equals(df)


def test_utf8_bom_csv():
    df = read_table(data_path("seoul_heat_shelters_2023.csv"))
    assert len(df) == 4133


def test_bom_file_from_shared(tmp_path):
    text = '시설번호,지역코드,면적\n0012,1162071500,"1,234"\n0013,1162071500,-\n'
    p = tmp_path / "bom.csv"
    p.write_bytes(text.encode("utf-8-sig"))
    df = read_table(p)
    assert df.attrs["dongne"]["encoding"] == "utf-8-sig"
    assert df.columns[0] == "시설번호"
    assert df["시설번호"].tolist() == ["0012", "0013"]  # zero-padded ids kept
    assert df["면적"].iloc[0] == 1234 and pd.isna(df["면적"].iloc[1])


def test_zero_padded_values_stay_text_even_without_code_name(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("area,value\n01001,3\n01003,4\n")
    df = read_table(p)
    assert df["area"].tolist() == ["01001", "01003"]
    assert df["value"].dtype == "int64"


def test_tab_separated_and_semicolon(tmp_path):
    p = tmp_path / "t.tsv"
    p.write_text("code\tn\n11010\t1\n11020\t2\n")
    assert read_table(p)["n"].tolist() == [1, 2]
    q = tmp_path / "s.csv"
    q.write_text("code;n\n11010;1,5\n")  # decimal comma is not guessed: stays text
    assert read_table(q).attrs["dongne"]["separator"] == ";"


def test_excel_with_title_rows(tmp_path):
    p = tmp_path / "t.xlsx"
    with pd.ExcelWriter(p) as xw:
        pd.DataFrame([["인구 현황 (2023)"], [None]]).to_excel(
            xw, sheet_name="data", header=False, index=False
        )
        pd.DataFrame({"행정동코드": ["1101053", "1101054"], "인구": ["1,234", "567"]}).to_excel(
            xw, sheet_name="data", startrow=2, index=False
        )
    with pytest.raises(DataError, match=r"title.*title_lines='auto'"):
        read_table(p)
    df = read_table(p, title_lines="auto")
    assert df.columns.tolist() == ["행정동코드", "인구"]
    assert df["인구"].tolist() == [1234, 567]
    assert df["행정동코드"].tolist() == ["1101053", "1101054"]


def test_excel_several_sheets_need_a_choice(tmp_path):
    p = tmp_path / "t.xlsx"
    with pd.ExcelWriter(p) as xw:
        pd.DataFrame({"a": [1]}).to_excel(xw, sheet_name="2022", index=False)
        pd.DataFrame({"a": [2]}).to_excel(xw, sheet_name="2023", index=False)
    with pytest.raises(DataError, match=r"2 sheets: '2022', '2023'.*sheet='2022'"):
        read_table(p)
    assert read_table(p, sheet="2023")["a"].tolist() == [2]


def test_parquet(tmp_path):
    p = tmp_path / "t.parquet"
    pd.DataFrame({"code": ["01"], "v": [1.5]}).to_parquet(p)
    df = read_table(p)
    assert df["code"].tolist() == ["01"] and df.attrs["dongne"]["format"] == "parquet"


def test_ragged_rows_name_the_line(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("a,b\n1,2\n3,4,5\n")
    with pytest.raises(
        DataError, match=r"t\.csv: the header has 2 fields but line\(s\) 3 \(3 fields\) do not.*Fix"
    ):
        read_table(p)


def test_repeated_header(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("a,b,a \n1,2,3\n")
    with pytest.raises(DataError, match="repeats column name"):
        read_table(p)


def test_check_counts_accepts_good_counts():
    df = pd.DataFrame({"n": [0, 3, 5]})
    check_counts(df, ["n"])
    check_counts(pd.DataFrame({"n": [1.0, None]}), ["n"], allow_missing=True)


# --- the vectorised text conversion is the cell-by-cell one, faster ------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from dongne.io import tables as _tables  # noqa: E402

# cells Korean tables hold, and the ones that trip parsers: separators, signs, exponents,
# apostrophe codes, every kind of space Python strips, NA spellings, Hangul, other digits
_CELLS = st.one_of(
    st.sampled_from(
        ["1,234", "12,345,678", "1,23", "-7", "+5", "0", "-0", "007", "0.5", ".5", "-.5",
         "1e5", "2.5E-3", "e5", "+", "1.", "'11010", "'0", "'", "'-", "-", "NA", "nan", "",
         "9223372036854775807", "9223372036854775808", "99999999999999999999",
         " 12 ", "\u300012\u3000", "\xa0-3\x85", "\x1c4\x1f", "\t5\r", "종로구", " 종로구",
         "١٢", "１２", "1,234.5", "3.0", "1 000", "0x10", "inf", "1_000"]
    ),
    st.integers(-10**12, 10**12).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.integers(0, 10**9).map(lambda v: f"{v:,}"),
    st.text(alphabet="0123456789,.-+eE' \u3000가", max_size=6),
)  # fmt: skip


def _column_by_cells(name, cells):
    try:
        return _tables._convert_column(name, pd.Series(cells, dtype=object), set())
    except (ValueError, TypeError) as exc:
        return type(exc)


@settings(max_examples=200, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
@given(
    cells=st.lists(_CELLS, max_size=8).flatmap(
        lambda c: st.just(c) if not c else st.lists(st.sampled_from(c), min_size=1, max_size=12)
    ),
    name=st.sampled_from(["value", "gu_code", "인구"]),
)
def test_vectorised_conversion_equals_the_cell_by_cell_one(cells, name):
    expected = _column_by_cells(name, cells)
    for series in (pd.Series(cells, dtype=object), pd.Series(cells, dtype="string[pyarrow]")):
        try:
            got = _tables._convert_column_vectorised(name, series, set())
        except (ValueError, TypeError) as exc:
            got = type(exc)
        if got is None:  # left to the cell-by-cell path
            continue
        if isinstance(expected, type):
            assert got is expected, (cells, got)
            continue
        (values, role), (want, want_role) = got, expected
        assert role == want_role, (cells, role, want_role)
        assert values.dtype == want.dtype, (cells, values.dtype, want.dtype)
        assert len(values) == len(want)
        for a, b in zip(values.tolist(), want.tolist(), strict=True):
            # same value, same kind of missing (pd.NA for codes, NaN otherwise)
            assert type(a) is type(b), (cells, a, b)
            if a is pd.NA or b is pd.NA:
                assert a is b, (cells, a, b)
            else:
                assert a == b or (a != a and b != b), (cells, a, b)


def test_vectorised_conversion_leaves_unusual_columns_to_the_cell_by_cell_path():
    vec = _tables._convert_column_vectorised
    assert vec("v", pd.Series(["١٢", "3"], dtype=object), set()) is None  # Arabic-Indic digits
    assert vec("v", pd.Series(["1", None], dtype=object), set()) is None  # missing already
    assert vec("v", pd.Series([1, 2], dtype=object), set()) is None  # not text
    # cells the number grammar takes but pandas does not parse make a text column (they
    # raised a bare ValueError out of read_table before)
    for cells in (["١٢", "3"], ["+", "3"], ["e5", "1,234"]):
        values, role = _tables._convert_column("v", pd.Series(cells, dtype=object), set())
        assert role == "text" and values.tolist() == cells
        fast = vec("v", pd.Series(cells, dtype=object), set())
        assert fast is None or (fast[1] == "text" and fast[0].tolist() == cells)


def test_integers_beyond_int64_are_kept_as_written_not_wrapped():
    """Before: 9223372036854775808 became -9223372036854775808 (int64 wrapped) and a
    20-digit integer raised OverflowError out of read_table."""
    for cells in (["9223372036854775808", "1"], ["99999999999999999999", "1"],
                  ["-9223372036854775809", "2"]):  # fmt: skip
        for convert in (_tables._convert_column, _tables._convert_column_vectorised):
            values, role = convert("v", pd.Series(cells, dtype=object), set())
            assert role == "code" and values.tolist() == cells
    values, role = _tables._convert_column_vectorised(
        "v", pd.Series(["9223372036854775807", "-9223372036854775808"], dtype=object), set()
    )
    assert role == "number" and values.tolist() == [2**63 - 1, -(2**63)]


def test_spaces_are_the_ones_str_strip_removes():
    assert set(_tables._SPACES) == {chr(i) for i in range(0x110000) if chr(i).isspace()}


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    lines=st.lists(
        st.sampled_from(["a,b", "1,2", "", "\r", "x,y\r", '"q\nr",1', "t", " "]), max_size=12
    ),
    end=st.sampled_from(["", "\n", "\r\n", "\n\n"]),
    skip=st.integers(0, 3),
)
def test_data_lines_equal_the_csv_readers(lines, end, skip):
    text = "\n".join(lines) + end
    assert _tables._data_lines(text, ",", skip) == _tables._data_lines_csv(text, ",", skip)


def test_a_large_table_reads_like_the_cell_by_cell_conversion(tmp_path):
    """The load test's upload (a code and a 15-digit float) and a Korean CP949 table with
    thousands separators: every column equals the cell-by-cell conversion's."""
    rng = __import__("numpy").random.default_rng(3)
    values = (rng.normal(size=20_000) * 10.0 ** rng.integers(-8, 8, 20_000)).tolist()
    rows = [f"{11000 + i},{v!r},\"{i * 1000:,}\",'{i:05d}, 구{i % 25} "
            for i, v in enumerate(values)]  # fmt: skip
    path = tmp_path / "t.csv"
    path.write_bytes(("gu_code,value,count,label,name\n" + "\n".join(rows)).encode("cp949"))
    df = read_table(path)
    assert df["value"].tolist() == [float(repr(v)) for v in values]
    assert df["count"].dtype == "int64" and df.loc[20, "count"] == 20_000
    assert df.loc[7, "label"] == "00007" and df.loc[7, "name"] == "구7"
    raw = pd.read_csv(path, dtype=object, keep_default_na=False, encoding="cp949")
    for col in df.columns:
        want, _ = _tables._convert_column(col, raw[col].astype(object), set())
        pd.testing.assert_series_equal(df[col], want, check_names=False)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    header=st.lists(
        st.sampled_from(["gu", "인구", " a", "b ", "code", "x.1", "", "gu"]), min_size=1, max_size=4
    ),
    rows=st.lists(
        st.lists(
            st.sampled_from(["1", " 2 ", "", "1,234", "'7", "종로구", "a b", "-", "\t"]), max_size=5
        ),
        max_size=8,
    ),
    sep=st.sampled_from([",", "\t", ";", "|"]),
    newline=st.sampled_from(["\n", "\r\n"]),
    end=st.booleans(),
)
def test_arrow_reads_plain_csv_cells_as_pandas_does(header, rows, sep, newline, end):
    """Where the Arrow reader takes a file, its cells are pandas' (dtype=object, no NA)."""
    import io

    lines = [sep.join(header)] + [sep.join(r) for r in rows]
    text = newline.join(lines) + (newline if end else "")
    got = _tables._read_plain_csv(text, sep)
    if got is None:
        return
    want = pd.read_csv(io.StringIO(text), sep=sep, dtype=object, keep_default_na=False)
    pd.testing.assert_frame_equal(got.astype(object), want)


def test_arrow_takes_the_load_test_upload_and_pandas_the_rest():
    upload = "gu_code,value\n11000,0.125730221093393\n11001,-0.1321048632913\n"
    got = _tables._read_plain_csv(upload, ",")
    assert got is not None and got["value"].tolist() == ["0.125730221093393", "-0.1321048632913"]
    assert _tables._read_plain_csv(upload.replace("\n", "\r\n"), ",") is not None
    for other in ('a,b\n"1,234",2\n', "a,b\n1,2\n\n3,4\n", "a,b\n1\n", "a,a\n1,2\n", "a\n1\n"):
        assert _tables._read_plain_csv(other, ",") is None, other
