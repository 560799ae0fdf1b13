/**
 * Swipes on the card with pointer events (touch, pen or mouse alike): the
 * card follows the finger; past `distance` px it says which way it would go
 * (`card.dataset.swipe`), and letting go there calls `onSwipe(direction)`:
 * "right", "left", "up" or "down". Anything shorter springs back.
 */
export function attachSwipe(card, onSwipe, { distance = 80, enabled = () => true } = {}) {
  let start = null;

  function direction(dx, dy) {
    if (Math.max(Math.abs(dx), Math.abs(dy)) <= distance) return undefined;
    if (Math.abs(dx) >= Math.abs(dy)) return dx > 0 ? "right" : "left";
    return dy < 0 ? "up" : "down";
  }

  function reset() {
    card.classList.remove("dragging");
    card.style.transform = "";
    delete card.dataset.swipe;
  }

  card.addEventListener("pointerdown", (ev) => {
    if (!enabled() || ev.button > 0) return;
    start = { x: ev.clientX, y: ev.clientY, id: ev.pointerId };
    card.setPointerCapture(ev.pointerId);
    card.classList.add("dragging");
  });
  card.addEventListener("pointermove", (ev) => {
    if (!start || ev.pointerId !== start.id) return;
    const dx = ev.clientX - start.x;
    const dy = ev.clientY - start.y;
    const way = direction(dx, dy);
    const vertical = way === "up" || way === "down";
    card.style.transform = vertical ? `translateY(${dy / 2}px)` : `translateX(${dx}px) rotate(${dx / 20}deg)`;
    if (way) card.dataset.swipe = way;
    else delete card.dataset.swipe;
  });
  function end(ev) {
    if (!start || ev.pointerId !== start.id) return;
    const way = ev.type === "pointerup" ? direction(ev.clientX - start.x, ev.clientY - start.y) : undefined;
    start = null;
    reset();
    if (way) onSwipe(way);
  }
  card.addEventListener("pointerup", end);
  card.addEventListener("pointercancel", end);
  return { reset };
}
