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
