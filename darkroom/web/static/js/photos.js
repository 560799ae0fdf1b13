/**
 * Photos as both the dashboard and the phone view see them: one shape for
 * API objects and events, and the image URLs of the public API.
 */

/** A photo from the API, in the shape the pages use. */
export function normalizePhoto(raw) {
  const analysis = raw.analysis_results ?? raw.analysis ?? undefined;
  return {
    id: raw.id ?? raw.photo_id,
    session_id: raw.session_id,
    file_name: raw.file_name ?? raw.name,
    ai_score: raw.ai_score ?? raw.score,
    analysis,
    context_tag: raw.context_tag ?? raw.tag,
    preset: raw.selected_preset ?? raw.preset,
    status: raw.status,
    decision: raw.decision,
    exif: raw.exif,
    thumbnail_url: raw.thumbnail_url,
  };
}

/** Merge only the defined fields of `patch` into the photo in `store`. */
export function mergePhoto(store, patch) {
  const clean = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
  const photo = { ...(store.get(clean.id) || { id: clean.id }), ...clean };
  store.set(photo.id, photo);
  return photo;
}

/** The image URL of a photo: kind is thumbnail, preview or developed. */
export function imageUrl(photo, kind = "thumbnail") {
  const version = photo.version ? `?v=${photo.version}` : "";
  if (kind === "thumbnail" && photo.thumbnail_url && !photo.version) return photo.thumbnail_url;
  return `/api/photos/${encodeURIComponent(photo.id)}/${kind}${version}`;
}

/** A score on 0-5 as text. */
export function scoreText(score) {
  return typeof score === "number" ? `\u2605 ${score.toFixed(1)}` : "";
}
