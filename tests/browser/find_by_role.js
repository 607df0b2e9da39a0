// Test helper (never shipped): elements by ARIA role and accessible name, run
// through WebDriver's execute_script; see tests/browser/webkit.py.
const [role, name, exact] = arguments;
const implicit = {
  button: 'button, input[type=button], input[type=submit], input[type=reset], summary',
  link: 'a[href]',
  heading: 'h1, h2, h3, h4, h5, h6',
  main: 'main',
  navigation: 'nav',
  banner: 'header',
  list: 'ul, ol',
  listitem: 'li',
  textbox: 'textarea, input:not([type]), input[type=text], input[type=search], input[type=url], input[type=email]',
  checkbox: 'input[type=checkbox]',
  region: 'section[aria-label], section[aria-labelledby]',
  dialog: 'dialog',
  status: 'output',
  form: 'form[aria-label], form[aria-labelledby]',
  img: 'img[alt]:not([alt=""])',
  article: 'article',
};
const norm = (s) => (s || '').replace(/\s+/g, ' ').trim();
function hidden(el) {
  for (let n = el; n && n.nodeType === 1; n = n.parentElement) {
    if (n.hidden || n.getAttribute('aria-hidden') === 'true') return true;
    if (getComputedStyle(n).display === 'none' || getComputedStyle(n).visibility === 'hidden') return true;
  }
  return false;
}
function accessibleName(el) {
  const label = el.getAttribute('aria-label');
  if (label) return norm(label);
  const by = el.getAttribute('aria-labelledby');
  if (by) return norm(by.split(/\s+/).map((id) => document.getElementById(id)?.textContent || '').join(' '));
  if (el.id) {
    const lab = document.querySelector(`label[for="${CSS.escape(el.id)}"]`);
    if (lab) return norm(lab.textContent);
  }
  if (el.labels && el.labels.length) return norm(el.labels[0].textContent);
  if (el.tagName === 'INPUT' && ['button', 'submit', 'reset'].includes(el.type)) return norm(el.value);
  if (el.tagName === 'IMG') return norm(el.alt);
  if (['INPUT', 'TEXTAREA'].includes(el.tagName)) return norm(el.getAttribute('placeholder') || el.title);
  return norm(el.textContent || el.title);
}
const explicit = Array.from(document.querySelectorAll(`[role~="${role}"]`));
const native = implicit[role]
  ? Array.from(document.querySelectorAll(implicit[role])).filter((el) => !el.hasAttribute('role'))
  : [];
return explicit.concat(native).filter((el) => {
  if (hidden(el)) return false;
  if (name === null) return true;
  const got = accessibleName(el);
  return exact ? got === name : got.toLowerCase().includes(name.toLowerCase());
});
