// Every label of the dashboard in English and Korean. Elements name their text with
// data-i18n="key" (their text) or data-i18n-aria-label="key"; code asks t(key).

const STRINGS = {
  en: {
    skip_main: "Skip to the content",
    app_title: "dongne — city data dashboard",
    lang_switch: "한국어",
    lang_switch_label: "한국어로 보기 (switch to Korean)",
    sign_in: "Sign in",
    sign_out: "Sign out",
    signin_title: "Sign in",
    token_label: "API token",
    token_hint:
      "An administrator gives you a token (dongne serve --create-user NAME). It is kept only in this browser tab and forgotten when the tab closes.",
    signed_in_as: "Signed in as {name}",
    controls_title: "Data and analyses",
    workspace_title: "Workspace",
    workspace_label: "Workspace",
    role_is: "Your role: {role}",
    role_owner: "owner",
    role_editor: "editor",
    role_viewer: "viewer (read only)",
    upload_title: "Upload a dataset",
    upload_kind: "Kind",
    kind_areas: "Areas (GeoJSON, GeoPackage, zipped shapefile)",
    kind_table: "Table (CSV, XLSX, Parquet)",
    kind_points: "Points (table with coordinates, or point layer)",
    upload_file: "File",
    upload_name: "Name (optional)",
    upload_x: "x / longitude column",
    upload_y: "y / latitude column",
    upload_button: "Upload",
    uploading: "Uploading {name}…",
    uploaded: "Uploaded {name}: {rows} rows.",
    datasets_title: "Datasets",
    no_datasets: "No datasets yet: upload areas and a table.",
    dataset_meta: "#{id} · {kind} · {rows} rows",
    shared_from: "shared by {ws}",
    show_on_map: "Show on map",
    show_on_map_label: "Show {name} on the map",
    run_title: "Run an analysis",
    run_analysis: "Analysis",
    analysis_detect: "Clusters and index (LISA, Gi*, Moran, index)",
    analysis_scan: "Spatial scan (Kulldorff)",
    analysis_allocate: "Facility allocation",
    run_areas: "Areas",
    run_table: "Table joined to the areas (optional)",
    run_id_column: "Join key: code column of the areas",
    run_table_key: "Code column of the table",
    same_key: "(same name as the areas' column)",
    no_table: "(no table)",
    none_option: "(none)",
    match_button: "Check the join",
    run_name_column: "Name column (optional)",
    run_variable: "Variable",
    run_methods: "Methods",
    method_lisa: "Local Moran's I (LISA)",
    method_gistar: "Getis-Ord Gi*",
    method_moran: "Global Moran's I",
    method_index: "Vulnerability index",
    run_indicators: "Index indicators (higher = more vulnerable; none = the variable)",
    run_weights: "Neighbours",
    weights_queen: "Queen contiguity",
    weights_rook: "Rook contiguity",
    weights_knn: "8 nearest",
    run_permutations: "Permutations (blank: automatic)",
    run_correction: "Multiple-testing correction",
    correction_none: "none",
    run_alpha: "Significance level",
    run_cases: "Cases",
    run_population: "Population at risk",
    run_scan_side: "Look for",
    scan_high: "high rates",
    scan_low: "low rates",
    scan_both: "both",
    run_replications: "Replications",
    run_model: "Model",
    model_mclp: "Maximal coverage (MCLP)",
    model_lscp: "Set coverage (LSCP)",
    model_pmedian: "p-median",
    model_pcenter: "p-center",
    run_candidates: "Candidate sites",
    candidates_centroids: "area centroids",
    candidates_grid: "regular grid",
    run_existing: "Existing sites (optional)",
    run_p: "New sites",
    run_radius: "Radius",
    run_weight: "Demand weight (optional)",
    run_seed: "Random seed",
    run_button: "Start",
    run_progress: "Progress",
    cancel_button: "Cancel the run",
    run_started: "Run {id} started.",
    run_status_queued: "queued",
    run_status_running: "running",
    run_status_done: "done",
    run_status_failed: "failed",
    run_status_cancelled: "cancelled",
    run_finished: "Run {id} is {status}.",
    runs_title: "Runs",
    no_runs: "No runs yet.",
    models_title: "Shared models",
    no_models: "No models are shared with this workspace.",
    model_meta: "version {version}{aliases} · from {owner}",
    open_card: "Model card",
    open_card_label: "Open the model card of {name}",
    run_meta: "#{id} · {analysis} · {status}",
    show_results: "Show results",
    show_results_label: "Show the results of run {id}",
    loading: "Loading…",
    map_title: "Map",
    view_label: "Show",
    view_value: "Values (choropleth)",
    view_lisa: "LISA clusters",
    view_gistar: "Gi* hot and cold spots",
    view_gi: "Gi hot and cold spots",
    view_scan: "Scan clusters",
    view_coverage: "Coverage (allocation)",
    column_label: "Column",
    scheme_label: "Classes",
    scheme_quantiles: "quantiles",
    scheme_natural: "natural breaks",
    scheme_equal: "equal interval",
    classes_label: "Number",
    zoom_group: "Zoom",
    zoom_in: "Zoom in",
    zoom_out: "Zoom out",
    zoom_reset: "Reset the view",
    skip_map: "Skip the map to the results table",
    map_label: "Map of the areas",
    map_empty: "Upload areas and choose “Show on map”, or open a finished run.",
    map_help:
      "Tab moves from area to area; Enter opens an area's details; arrow keys pan; + and − zoom; 0 resets the view. The results table below lists the same areas.",
    legend_title: "Legend",
    no_data: "No data",
    existing_sites: "Existing sites",
    new_sites: "New sites",
    coverage_already: "Covered already",
    coverage_new: "Newly covered",
    coverage_partly: "Partly covered",
    coverage_none: "Not covered",
    scan_most_likely: "Most likely cluster",
    scan_secondary: "Secondary cluster {n}",
    scan_none: "Not in a cluster",
    scan_not_significant: "{name}: not significant",
    findings_title: "Findings",
    findings_full: "Full text (English and Korean)",
    details_title: "Area details",
    details_empty:
      "Click an area on the map, press Enter on a focused area, or choose a row of the table.",
    details_statistics: "Statistics",
    details_indicators: "Indicators",
    details_other: "Other attributes",
    details_category: "Category",
    results_title: "Results table",
    filter_label: "Filter (name, code or category)",
    significant_only: "Significant only",
    table_count: "{shown} of {total} areas shown on the map and in the table.",
    table_caption: "{title}: one row per area; the map shows the same areas.",
    col_name: "Name",
    col_id: "Code",
    col_value: "Value",
    col_category: "Category",
    col_p: "p-value",
    sites_title: "New sites",
    site_item: "Site {id}: serves {demand}",
    area_label: "{name}: {value}",
    sorted_asc: "ascending",
    sorted_desc: "descending",
    error: "Error: {message}",
    network_error: "The server did not answer. Is it running?",
  },
  ko: {
    skip_main: "본문으로 건너뛰기",
    app_title: "dongne — 도시 데이터 대시보드",
    lang_switch: "English",
    lang_switch_label: "View in English (영어로 보기)",
    sign_in: "로그인",
    sign_out: "로그아웃",
    signin_title: "로그인",
    token_label: "API 토큰",
    token_hint:
      "관리자가 토큰을 발급합니다 (dongne serve --create-user 이름). 토큰은 이 브라우저 탭에만 보관되며 탭을 닫으면 지워집니다.",
    signed_in_as: "{name} 님 로그인",
    controls_title: "데이터와 분석",
    workspace_title: "작업공간",
    workspace_label: "작업공간",
    role_is: "내 역할: {role}",
    role_owner: "소유자",
    role_editor: "편집자",
    role_viewer: "열람자 (읽기 전용)",
    upload_title: "데이터 올리기",
    upload_kind: "종류",
    kind_areas: "지역 경계 (GeoJSON, GeoPackage, 압축 셰이프파일)",
    kind_table: "표 (CSV, XLSX, Parquet)",
    kind_points: "지점 (좌표가 있는 표 또는 점 레이어)",
    upload_file: "파일",
    upload_name: "이름 (선택)",
    upload_x: "x / 경도 열",
    upload_y: "y / 위도 열",
    upload_button: "올리기",
    uploading: "{name} 올리는 중…",
    uploaded: "{name} 올림: {rows}행.",
    datasets_title: "데이터셋",
    no_datasets: "데이터셋이 없습니다. 지역 경계와 표를 올리세요.",
    dataset_meta: "#{id} · {kind} · {rows}행",
    shared_from: "{ws}에서 공유",
    show_on_map: "지도에 보기",
    show_on_map_label: "{name}을(를) 지도에 보기",
    run_title: "분석 실행",
    run_analysis: "분석",
    analysis_detect: "군집과 지수 (LISA, Gi*, 모란 I, 취약성 지수)",
    analysis_scan: "공간 스캔 (Kulldorff)",
    analysis_allocate: "시설 입지 배분",
    run_areas: "지역 경계",
    run_table: "지역에 결합할 표 (선택)",
    run_id_column: "결합 키: 지역의 코드 열",
    run_table_key: "표의 코드 열",
    same_key: "(지역 열과 같은 이름)",
    no_table: "(표 없음)",
    none_option: "(없음)",
    match_button: "결합 확인",
    run_name_column: "이름 열 (선택)",
    run_variable: "변수",
    run_methods: "방법",
    method_lisa: "국지적 모란 I (LISA)",
    method_gistar: "게티스-오드 Gi*",
    method_moran: "전역 모란 I",
    method_index: "취약성 지수",
    run_indicators: "지수 지표 (높을수록 취약; 선택하지 않으면 변수)",
    run_weights: "이웃 정의",
    weights_queen: "퀸 인접",
    weights_rook: "룩 인접",
    weights_knn: "가장 가까운 8곳",
    run_permutations: "순열 횟수 (비우면 자동)",
    run_correction: "다중검정 보정",
    correction_none: "보정 없음",
    run_alpha: "유의수준",
    run_cases: "사례 수",
    run_population: "위험 인구",
    run_scan_side: "찾을 군집",
    scan_high: "높은 비율",
    scan_low: "낮은 비율",
    scan_both: "둘 다",
    run_replications: "반복 횟수",
    run_model: "모형",
    model_mclp: "최대 커버리지 (MCLP)",
    model_lscp: "집합 커버리지 (LSCP)",
    model_pmedian: "p-중앙값",
    model_pcenter: "p-센터",
    run_candidates: "후보지",
    candidates_centroids: "지역 중심점",
    candidates_grid: "격자",
    run_existing: "기존 시설 (선택)",
    run_p: "새 시설 수",
    run_radius: "반경",
    run_weight: "수요 가중치 (선택)",
    run_seed: "난수 시드",
    run_button: "시작",
    run_progress: "진행",
    cancel_button: "실행 취소",
    run_started: "실행 {id} 시작.",
    run_status_queued: "대기",
    run_status_running: "실행 중",
    run_status_done: "완료",
    run_status_failed: "실패",
    run_status_cancelled: "취소됨",
    run_finished: "실행 {id}: {status}.",
    runs_title: "실행 기록",
    no_runs: "아직 실행한 분석이 없습니다.",
    models_title: "공유 모형",
    no_models: "이 작업공간에서 쓸 수 있는 공유 모형이 없습니다.",
    model_meta: "버전 {version}{aliases} · 소유 {owner}",
    open_card: "모형 카드",
    open_card_label: "{name} 모형 카드 열기",
    run_meta: "#{id} · {analysis} · {status}",
    show_results: "결과 보기",
    show_results_label: "실행 {id}의 결과 보기",
    loading: "불러오는 중…",
    map_title: "지도",
    view_label: "표시",
    view_value: "값 (단계구분도)",
    view_lisa: "LISA 군집",
    view_gistar: "Gi* 핫스팟·콜드스팟",
    view_gi: "Gi 핫스팟·콜드스팟",
    view_scan: "스캔 군집",
    view_coverage: "커버리지 (입지 배분)",
    column_label: "열",
    scheme_label: "구간 나누기",
    scheme_quantiles: "분위수",
    scheme_natural: "자연 구분",
    scheme_equal: "등간격",
    classes_label: "구간 수",
    zoom_group: "확대·축소",
    zoom_in: "확대",
    zoom_out: "축소",
    zoom_reset: "처음 보기로",
    skip_map: "지도를 건너뛰고 결과 표로",
    map_label: "지역 지도",
    map_empty: "지역 경계를 올리고 “지도에 보기”를 누르거나, 끝난 실행의 결과를 여세요.",
    map_help:
      "Tab으로 지역 사이를 이동하고 Enter로 지역 정보를 엽니다. 화살표 키로 이동, + 와 − 로 확대·축소, 0 으로 처음 보기. 아래 결과 표에 같은 지역이 있습니다.",
    legend_title: "범례",
    no_data: "자료 없음",
    existing_sites: "기존 시설",
    new_sites: "새 시설",
    coverage_already: "이미 커버됨",
    coverage_new: "새로 커버됨",
    coverage_partly: "일부 커버됨",
    coverage_none: "커버되지 않음",
    scan_most_likely: "가장 유력한 군집",
    scan_secondary: "보조 군집 {n}",
    scan_none: "군집 밖",
    scan_not_significant: "{name}: 유의하지 않음",
    findings_title: "결과 요약",
    findings_full: "전체 글 (영어와 한국어)",
    details_title: "지역 정보",
    details_empty: "지도에서 지역을 누르거나, 지역에서 Enter를 누르거나, 표의 행을 고르세요.",
    details_statistics: "통계",
    details_indicators: "지표",
    details_other: "기타 속성",
    details_category: "분류",
    results_title: "결과 표",
    filter_label: "거르기 (이름, 코드, 분류)",
    significant_only: "유의한 지역만",
    table_count: "전체 {total}곳 중 {shown}곳을 지도와 표에 표시합니다.",
    table_caption: "{title}: 지역마다 한 행; 지도에 같은 지역이 표시됩니다.",
    col_name: "이름",
    col_id: "코드",
    col_value: "값",
    col_category: "분류",
    col_p: "p값",
    sites_title: "새 시설",
    site_item: "시설 {id}: 수요 {demand}",
    area_label: "{name}: {value}",
    sorted_asc: "오름차순",
    sorted_desc: "내림차순",
    error: "오류: {message}",
    network_error: "서버가 응답하지 않습니다. 서버가 실행 중인가요?",
  },
};

let current = sessionStorage.getItem("dongne.lang") === "ko" ? "ko" : "en";

/** The current language, "en" or "ko". */
export function lang() {
  return current;
}

/** The text of `key` in the current language; each {name} in it is replaced by `vars[name]`. */
export function t(key, vars = {}) {
  const text = STRINGS[current][key] ?? STRINGS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}

/** Switch to `code` ("en" or "ko") and relabel every element below `root`. */
export function setLang(code, root = document) {
  current = code === "ko" ? "ko" : "en";
  sessionStorage.setItem("dongne.lang", current);
  document.documentElement.lang = current;
  translate(root);
}

/** Relabel the elements below `root` that carry data-i18n attributes. */
export function translate(root = document) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-aria-label]")) {
    el.setAttribute("aria-label", t(el.dataset.i18nAriaLabel));
  }
  document.title = t("app_title");
}

// Readable names of the columns that dongne's analyses add ("lisa_local_i" -> "LISA · Local
// Moran's I"): the method prefix and the statistic suffix, each in both languages.
const COLUMN_PREFIXES = {
  lisa: { en: "LISA", ko: "LISA" },
  gistar: { en: "Gi*", ko: "Gi*" },
  gi: { en: "Gi", ko: "Gi" },
  scan: { en: "Scan", ko: "스캔" },
  index: { en: "Index", ko: "취약성 지수" },
};
const COLUMN_SUFFIXES = {
  local_i: { en: "Local Moran's I", ko: "국지적 모란 I" },
  g: { en: "G statistic", ko: "G 통계량" },
  value: { en: "value", ko: "값" },
  quadrant: { en: "quadrant", ko: "사분면" },
  z_analytic: { en: "z (analytical)", ko: "z (해석적)" },
  p_analytic: { en: "p (analytical)", ko: "p값 (해석적)" },
  z_sim: { en: "z (permutations)", ko: "z (순열)" },
  p_value: { en: "p (permutations)", ko: "p값 (순열)" },
  p_adjusted: { en: "adjusted p", ko: "보정 p값" },
  significant: { en: "significant", ko: "유의함" },
  label: { en: "class", ko: "분류" },
  test: { en: "test", ko: "검정" },
  cluster: { en: "cluster", ko: "군집" },
  cluster_p: { en: "cluster p", ko: "군집 p값" },
  cluster_p_value: { en: "cluster p", ko: "군집 p값" },
  in_significant_cluster: { en: "in a significant cluster", ko: "유의한 군집에 속함" },
  rank: { en: "rank", ko: "순위" },
  flags: { en: "indicators in the top decile", ko: "상위 지표 수" },
  rank_low: { en: "rank (low end)", ko: "순위 하한" },
  rank_high: { en: "rank (high end)", ko: "순위 상한" },
};

/** A readable, translated name of a result column; other columns keep their own name. */
export function columnLabel(name) {
  const m = /^(lisa|gistar|gi|scan|index)(?:_(.+))?$/.exec(name ?? "");
  if (!m) return name;
  const prefix = COLUMN_PREFIXES[m[1]][current];
  if (!m[2]) return prefix;
  const top = /^p_top_(\d+)$/.exec(m[2]);
  if (top) return `${prefix} · ${current === "ko" ? `상위 ${top[1]}위 확률` : `P(top ${top[1]})`}`;
  const suffix = COLUMN_SUFFIXES[m[2]];
  return suffix ? `${prefix} · ${suffix[current]}` : name;
}

// Words of the "test" column ("two-sided, 19999 permutations, fdr_bh at 0.05") in Korean.
const TEST_WORDS_KO = [
  [/two-sided/g, "양측 검정"],
  [/greater/g, "단측 검정(큰 쪽)"],
  [/less/g, "단측 검정(작은 쪽)"],
  [/([\d,]+) permutations/g, "순열 $1회"],
  [/fdr_bh at ([\d.]+)/g, "FDR(벤자미니–호흐베르크) 보정, 유의수준 $1"],
  [/fdr_by at ([\d.]+)/g, "FDR(벤자미니–예쿠티엘리) 보정, 유의수준 $1"],
  [/bonferroni at ([\d.]+)/g, "본페로니 보정, 유의수준 $1"],
  [/geoda_fdr at ([\d.]+)/g, "GeoDa FDR 보정, 유의수준 $1"],
  [/none at ([\d.]+)/g, "보정 없음, 유의수준 $1"],
];

// Bilingual names of the map categories ("HH", "hot spot 95%", "not significant"), from the
// report's palettes (palettes.json), so that values read as the legend does.
let categoryTexts = {};

/** Take the category names of `palettes` (palettes.json) for valueText. */
export function setCategoryTexts(palettes) {
  categoryTexts = { ...(palettes?.hotspot ?? {}), ...(palettes?.lisa ?? {}) };
}

/**
 * The text of a column's value for the current language: categories of *_label and
 * *_quadrant columns by their legend names ("High-High (HH)", "고-고 (HH)"), test
 * descriptions translated.
 */
export function valueText(name, value) {
  if (typeof value !== "string") return value;
  const category = /_(label|quadrant)$/.test(name ?? "") ? categoryTexts[value] : null;
  if (category) return /^[HL]{2}$/.test(value) ? `${category[current]} (${value})` : category[current];
  if (current !== "ko" || !/_test$/.test(name ?? "")) return value;
  return TEST_WORDS_KO.reduce((text, [pattern, words]) => text.replace(pattern, words), value);
}

// Progress messages of the analyses (dongne.service.worker and the run_* workflows) in Korean.
const PROGRESS_KO = [
  [/^starting$/, "시작"],
  [/^done$/, "완료"],
  [/^reading the input datasets$/, "입력 데이터 읽는 중"],
  [/^writing GeoPackage, GeoJSON and CSV results$/, "결과(GeoPackage, GeoJSON, CSV) 쓰는 중"],
  [/^global Moran's I$/, "전역 모란 I"],
  [/^Local Moran's I \(LISA\)$/, "국지적 모란 I (LISA)"],
  [/^Getis-Ord Gi\*$/, "게티스-오드 Gi*"],
  [/^Getis-Ord Gi$/, "게티스-오드 Gi"],
  [/^vulnerability index and rank stability$/, "취약성 지수와 순위 안정성"],
  [/^writing tables and summary$/, "표와 요약 쓰는 중"],
  [/^Monte Carlo replication (\d+) of (\d+)$/, "몬테카를로 반복 $2회 중 $1회"],
  [/^preparing demand and candidate sites$/, "수요와 후보지 준비 중"],
  [/^solving (.+)$/, "$1 푸는 중"],
  [/^efficiency-equity sweep$/, "효율–형평 비교"],
  [/^writing sites, maps and summary$/, "입지, 지도, 요약 쓰는 중"],
  [/^cancelled before it started$/, "시작 전에 취소됨"],
  [/^cancelled while running; the process was stopped$/, "실행 중 취소됨; 프로세스를 멈췄습니다"],
];

/** A run's progress message in the current language (unknown messages as they are). */
export function progressText(message) {
  if (current !== "ko" || typeof message !== "string") return message;
  for (const [pattern, words] of PROGRESS_KO) {
    if (pattern.test(message)) return message.replace(pattern, words);
  }
  return message;
}

/** A number formatted for the current language (at most `digits` decimals). */
export function formatNumber(value, digits = 4) {
  if (value === null || value === undefined || Number.isNaN(value)) return "—";
  return new Intl.NumberFormat(current === "ko" ? "ko-KR" : "en-GB", {
    maximumFractionDigits: digits,
  }).format(value);
}
