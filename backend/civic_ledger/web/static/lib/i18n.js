// Korean and English texts: elements carry data-i18n="key"; t(key) for texts built in code.
const TEXTS = {
  en: {
    "app.title": "civic-ledger",
    "nav.citizen": "Citizen", "nav.verify": "Verifier", "nav.auditor": "Auditor", "nav.buyer": "Car buyer", "nav.docs": "API",
    "trust.title": "Where checks run", "trust.rpc": "RPC URL", "trust.manifest": "Deployment manifest you trust",
    "wallet.title": "My key", "wallet.open": "Open a keystore file", "wallet.password": "Password",
    "wallet.unlock": "Unlock", "wallet.create": "Create a new key (kept encrypted in this browser)",
    "wallet.stored": "A key is stored in this browser", "wallet.forget": "Forget the stored key",
    "wallet.signin": "Sign in (Sign-In with Ethereum)", "wallet.signout": "Sign out", "wallet.lock": "Lock",
    "wallet.address": "Address", "wallet.notcitizen": "This address is not a registered citizen yet: show it to a registrar.",
    "wallet.export": "Download the keystore file",
    "polls.title": "Open polls", "polls.none": "No open poll you can vote in.", "polls.vote": "Vote", "polls.change": "Change my vote",
    "polls.closed": "Closed polls", "polls.results": "Results",
    "booth.choose": "1. Choose", "booth.review": "2. Review", "booth.sign": "3. Sign and cast", "booth.receipt": "4. Receipt",
    "booth.next": "Review", "booth.back": "Back", "booth.cast": "Sign with my key and cast",
    "booth.public": "Public ballot: your choice will be on the chain next to your address.",
    "booth.sealed": "Sealed ballot: only a commitment is sent; keep this browser to reveal after close.",
    "booth.accepted": "Ballot accepted", "booth.check": "Check my ballot on the chain", "booth.download": "Download the ballot and receipt",
    "receipt.title": "Check a ballot", "receipt.hash": "Ballot hash (receipt)", "receipt.check": "Check",
    "creds.title": "My credentials", "creds.add": "Add a credential file", "creds.disclose": "Disclose only the ticked claims",
    "creds.present": "Present to a verifier", "creds.audience": "Verifier (audience)", "creds.nonce": "Verifier's nonce",
    "mileage.title": "Mileage", "mileage.balance": "Balance", "labour.title": "My labour contracts",
    "labour.confirm": "Confirm", "labour.dispute": "Dispute",
    "verify.title": "Verifier's desk", "verify.drop": "Drop a credential, presentation, evidence bundle or vehicle report",
    "verify.challenge": "Challenge for a presentation", "verify.newnonce": "New nonce",
    "poll.recount": "Recount in my browser", "poll.turnout": "Turnout",
    "audit.title": "Auditor", "audit.project": "Project", "audit.load": "Load from the chain", "audit.csv": "Download CSV",
    "buyer.title": "Used-car history", "buyer.vin": "VIN", "buyer.lookup": "Look up",
  },
  ko: {
    "app.title": "시민 원장",
    "nav.citizen": "시민", "nav.verify": "검증", "nav.auditor": "감사", "nav.buyer": "중고차 구매", "nav.docs": "API",
    "trust.title": "검증 위치", "trust.rpc": "RPC 주소", "trust.manifest": "신뢰하는 배포 매니페스트",
    "wallet.title": "내 키", "wallet.open": "키스토어 파일 열기", "wallet.password": "비밀번호",
    "wallet.unlock": "잠금 해제", "wallet.create": "새 키 만들기 (이 브라우저에 암호화 저장)",
    "wallet.stored": "이 브라우저에 저장된 키가 있습니다", "wallet.forget": "저장된 키 삭제",
    "wallet.signin": "로그인 (이더리움 서명)", "wallet.signout": "로그아웃", "wallet.lock": "잠그기",
    "wallet.address": "주소", "wallet.notcitizen": "아직 등록된 시민이 아닙니다: 등록 담당자에게 이 주소를 보여 주세요.",
    "wallet.export": "키스토어 파일 내려받기",
    "polls.title": "진행 중인 투표", "polls.none": "참여할 수 있는 투표가 없습니다.", "polls.vote": "투표하기", "polls.change": "투표 변경",
    "polls.closed": "마감된 투표", "polls.results": "결과",
    "booth.choose": "1. 선택", "booth.review": "2. 확인", "booth.sign": "3. 서명 및 제출", "booth.receipt": "4. 영수증",
    "booth.next": "확인", "booth.back": "뒤로", "booth.cast": "내 키로 서명하고 제출",
    "booth.public": "공개 투표: 선택이 주소와 함께 블록체인에 기록됩니다.",
    "booth.sealed": "비밀 투표: 약정값만 전송됩니다. 마감 후 공개하려면 이 브라우저를 유지하세요.",
    "booth.accepted": "투표가 접수되었습니다", "booth.check": "블록체인에서 내 투표 확인", "booth.download": "투표와 영수증 내려받기",
    "receipt.title": "투표 확인", "receipt.hash": "투표 해시 (영수증)", "receipt.check": "확인",
    "creds.title": "내 자격증명", "creds.add": "자격증명 파일 추가", "creds.disclose": "선택한 항목만 공개",
    "creds.present": "검증자에게 제시", "creds.audience": "검증자", "creds.nonce": "검증자 난수",
    "mileage.title": "마일리지", "mileage.balance": "잔액", "labour.title": "내 근로계약",
    "labour.confirm": "확인", "labour.dispute": "이의 제기",
    "verify.title": "검증 창구", "verify.drop": "자격증명, 제시, 증거 묶음 또는 차량 보고서를 놓으세요",
    "verify.challenge": "제시용 챌린지", "verify.newnonce": "새 난수",
    "poll.recount": "내 브라우저에서 재집계", "poll.turnout": "투표율",
    "audit.title": "감사", "audit.project": "사업", "audit.load": "블록체인에서 불러오기", "audit.csv": "CSV 내려받기",
    "buyer.title": "중고차 이력", "buyer.vin": "차대번호", "buyer.lookup": "조회",
  },
};

const KEY = "civic.lang";
export let lang = localStorage.getItem(KEY) || ((navigator.language || "en").toLowerCase().startsWith("ko") ? "ko" : "en");

export function t(key) {
  return (TEXTS[lang] && TEXTS[lang][key]) || TEXTS.en[key] || key;
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
