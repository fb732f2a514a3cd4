// The person picker (merge into, move faces to): names offered as the curator types them.
"use strict";
(() => {
  const list = document.getElementById("people-to-pick");
  let latest = 0;
  async function offer(typed) {
    const asked = ++latest;
    const response = await fetch(`${list.dataset.url}?q=${encodeURIComponent(typed)}`);
    if (!response.ok || asked !== latest) return;
    const { people } = await response.json();
    list.replaceChildren(...people.filter((p) => String(p.id) !== list.dataset.exclude)
      .map((p) => Object.assign(document.createElement("option"), { value: `#${p.id} ${p.name}` })));
  }
  document.querySelectorAll('input[list="people-to-pick"]').forEach((input) => {
    input.addEventListener("input", () => input.value.trim() && offer(input.value.trim()));
  });
})();
