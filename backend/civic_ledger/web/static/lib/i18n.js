// Every text once, in both languages: key → [English, Korean]. Elements carry data-i18n="key";
// t(key) for texts built in code.
const LANGS = ["en", "ko"];
const TEXTS = {
  "app.title": ["civic-ledger", "시민 원장"],
  "nav.citizen": ["Citizen", "시민"],
  "nav.verify": ["Verifier", "검증"],
  "nav.auditor": ["Auditor", "감사"],
  "nav.buyer": ["Car buyer", "중고차 구매"],
  "nav.docs": ["API", "API"],
  "trust.title": ["Where checks run", "검증 위치"],
  "trust.rpc": ["RPC URL", "RPC 주소"],
  "trust.manifest": ["Deployment manifest you trust", "신뢰하는 배포 매니페스트"],
  "wallet.title": ["My key", "내 키"],
  "wallet.open": ["Open a keystore file", "키스토어 파일 열기"],
  "wallet.password": ["Password", "비밀번호"],
  "wallet.unlock": ["Unlock", "잠금 해제"],
  "wallet.create": ["Create a new key (kept encrypted in this browser)", "새 키 만들기 (이 브라우저에 암호화 저장)"],
  "wallet.stored": ["A key is stored in this browser", "이 브라우저에 저장된 키가 있습니다"],
  "wallet.forget": ["Forget the stored key", "저장된 키 삭제"],
  "wallet.signin": ["Sign in (Sign-In with Ethereum)", "로그인 (이더리움 서명)"],
  "wallet.signout": ["Sign out", "로그아웃"],
  "wallet.lock": ["Lock", "잠그기"],
  "wallet.address": ["Address", "주소"],
  "wallet.notcitizen": ["This address is not a registered citizen yet: show it to a registrar.", "아직 등록된 시민이 아닙니다: 등록 담당자에게 이 주소를 보여 주세요."],
  "wallet.export": ["Download the keystore file", "키스토어 파일 내려받기"],
  "polls.title": ["Open polls", "진행 중인 투표"],
  "polls.none": ["No open poll you can vote in.", "참여할 수 있는 투표가 없습니다."],
  "polls.vote": ["Vote", "투표하기"],
  "polls.change": ["Change my vote", "투표 변경"],
  "polls.closed": ["Closed polls", "마감된 투표"],
  "polls.results": ["Results", "결과"],
  "booth.choose": ["1. Choose", "1. 선택"],
  "booth.review": ["2. Review", "2. 확인"],
  "booth.sign": ["3. Sign and cast", "3. 서명 및 제출"],
  "booth.receipt": ["4. Receipt", "4. 영수증"],
  "booth.next": ["Review", "확인"],
  "booth.back": ["Back", "뒤로"],
  "booth.cast": ["Sign with my key and cast", "내 키로 서명하고 제출"],
  "booth.public": ["Public ballot: your choice will be on the chain next to your address.", "공개 투표: 선택이 주소와 함께 블록체인에 기록됩니다."],
  "booth.sealed": ["Sealed ballot: only a commitment is sent; keep this browser to reveal after close.", "비밀 투표: 약정값만 전송됩니다. 마감 후 공개하려면 이 브라우저를 유지하세요."],
  "booth.accepted": ["Ballot accepted", "투표가 접수되었습니다"],
  "booth.check": ["Check my ballot on the chain", "블록체인에서 내 투표 확인"],
  "booth.download": ["Download the ballot and receipt", "투표와 영수증 내려받기"],
  "receipt.title": ["Check a ballot", "투표 확인"],
  "receipt.hash": ["Ballot hash (receipt)", "투표 해시 (영수증)"],
  "receipt.check": ["Check", "확인"],
  "creds.title": ["My credentials", "내 자격증명"],
  "creds.add": ["Add a credential file", "자격증명 파일 추가"],
  "creds.disclose": ["Disclose only the ticked claims", "선택한 항목만 공개"],
  "creds.present": ["Present to a verifier", "검증자에게 제시"],
  "creds.audience": ["Verifier (audience)", "검증자"],
  "creds.nonce": ["Verifier's nonce", "검증자 난수"],
  "mileage.title": ["Mileage", "마일리지"],
  "mileage.balance": ["Balance", "잔액"],
  "labour.title": ["My labour contracts", "내 근로계약"],
  "labour.confirm": ["Confirm", "확인"],
  "labour.dispute": ["Dispute", "이의 제기"],
  "verify.title": ["Verifier's desk", "검증 창구"],
  "verify.drop": ["Drop a credential, presentation, evidence bundle or vehicle report", "자격증명, 제시, 증거 묶음 또는 차량 보고서를 놓으세요"],
  "verify.challenge": ["Challenge for a presentation", "제시용 챌린지"],
  "verify.newnonce": ["New nonce", "새 난수"],
  "poll.recount": ["Recount in my browser", "내 브라우저에서 재집계"],
  "poll.turnout": ["Turnout", "투표율"],
  "audit.title": ["Auditor", "감사"],
  "audit.project": ["Project", "사업"],
  "audit.load": ["Load from the chain", "블록체인에서 불러오기"],
  "audit.csv": ["Download CSV", "CSV 내려받기"],
  "buyer.title": ["Used-car history", "중고차 이력"],
  "buyer.vin": ["VIN", "차대번호"],
  "buyer.lookup": ["Look up", "조회"],
};

const KEY = "civic.lang";
export let lang = localStorage.getItem(KEY) || ((navigator.language || "en").toLowerCase().startsWith("ko") ? "ko" : "en");

export function t(key) {
  const texts = TEXTS[key];
  return texts ? texts[Math.max(0, LANGS.indexOf(lang))] : key;
}

export function apply(root = document) {
  document.documentElement.lang = lang;
  for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
}

export function setLang(next) {
  lang = next;
  localStorage.setItem(KEY, next);
  apply();
}

// The language switch in the header.
export function languageSwitch() {
  const sel = document.createElement("select");
  sel.id = "lang";
  sel.setAttribute("aria-label", "language / 언어");
  for (const [code, label] of [["ko", "한국어"], ["en", "English"]]) {
    const o = document.createElement("option");
    o.value = code;
    o.textContent = label;
    if (code === lang) o.selected = true;
    sel.append(o);
  }
  sel.addEventListener("change", () => setLang(sel.value));
  return sel;
}
