/**
 * Photos as both the dashboard and the phone view see them: one shape for
 * API objects and events, the culling vocabulary (stars, flags, colour
 * labels, as Lightroom names them) and the image URLs of the public API.
 */
import { number } from "./i18n.js";

export const FLAGS = ["pick", "reject"];
export const LABELS = ["red", "yellow", "green", "blue", "purple"];

/** A photo from the API, in the shape the pages use (absent fields stay undefined). */
export function normalizePhoto(raw) {
  const analysis = raw.analysis_results ?? raw.analysis ?? undefined;
  return {
    id: raw.id ?? raw.photo_id,
    session_id: raw.session_id,
    file_name: raw.file_name ?? raw.name,
    width: raw.width,
    height: raw.height,
    ai_score: raw.ai_score ?? raw.score,
    analysis,
    context_tag: raw.context_tag ?? raw.tag,
    preset: raw.selected_preset ?? raw.preset,
    status: raw.status,
    decision: raw.decision,
    exif: raw.exif,
    thumbnail_url: raw.thumbnail_url,
    developed: raw.developed_url === undefined ? undefined : Boolean(raw.developed_url),
    captured_at: raw.captured_at,
    burst: raw.burst,
    histogram: raw.histogram,
    exif_summary: raw.exif_summary,
    ...marks(raw),
  };
}

/** The marks of an API photo or a `photo_rated` event: absent flag or label is none (null). */
export function marks(raw) {
  if (raw.rating === undefined && raw.flag === undefined && raw.color_label === undefined) return {};
  return {
    rating: Number.isInteger(raw.rating) ? raw.rating : 0,
    flag: FLAGS.includes(raw.flag) ? raw.flag : null,
    color_label: LABELS.includes(raw.color_label) ? raw.color_label : null,
  };
}

/** Merge only the defined fields of `patch` into the photo in `store`. */
export function mergePhoto(store, patch) {
  const clean = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
  const photo = { ...(store.get(clean.id) || { id: clean.id }), ...clean };
  store.set(photo.id, photo);
  return photo;
}

/** The image URL of a photo: kind is thumbnail, preview, developed or full. */
export function imageUrl(photo, kind = "thumbnail") {
  const version = photo.version ? `?v=${photo.version}` : "";
  if (kind === "thumbnail" && photo.thumbnail_url && !photo.version) return photo.thumbnail_url;
  return `/api/photos/${encodeURIComponent(photo.id)}/${kind}${version}`;
}

/** The quality score (the wire's `ai_score`, 0-5) as a plain number, never as stars. */
export function scoreText(score) {
  return typeof score === "number" ? number(score, { minimumFractionDigits: 1, maximumFractionDigits: 1 }) : "";
}
