// Uploads a LoRA file to POST /api/uploads/lora as the raw body, through XMLHttpRequest
// because fetch cannot report upload progress.

export interface UploadedLora {
  id: string;
  name: string;
  url: string;
  uploaded: boolean;
  baseModel: string;
  createdAt: string;
}

export class UploadError extends Error {
  constructor(message: string, readonly code: string | null) {
    super(message);
  }
}

export const LORA_EXTENSION = ".safetensors";

export function uploadLora(
  file: File,
  fields: { name: string; baseModel: string },
  token: string | null,
  onProgress: (fraction: number) => void,
): { done: Promise<UploadedLora>; abort: () => void } {
  const xhr = new XMLHttpRequest();
  const query = new URLSearchParams({ name: fields.name, baseModel: fields.baseModel, filename: file.name });
  const done = new Promise<UploadedLora>((resolve, reject) => {
    xhr.upload.onprogress = (e) => { if (e.lengthComputable && e.total > 0) onProgress(e.loaded / e.total); };
    xhr.onload = () => {
      let body: { error?: { message?: string; code?: string; problems?: { message: string }[] } } & Partial<UploadedLora> = {};
      try { body = JSON.parse(xhr.responseText) as typeof body; } catch { /* a proxy's HTML error page */ }
      if (xhr.status === 201 && body.id) { resolve(body as UploadedLora); return; }
      const message = body.error?.problems?.[0]?.message ?? body.error?.message
        ?? (xhr.status === 413 ? "That file is too large to upload." : `The upload failed (${xhr.status}). Try again.`);
      reject(new UploadError(message, body.error?.code ?? null));
    };
    // The server refuses an oversized body mid-stream and closes the connection; the browser
    // may report that as a network error rather than the 413.
    xhr.onerror = () => reject(new UploadError("The upload was interrupted: check the file's size and your connection.", null));
    xhr.onabort = () => reject(new UploadError("Upload cancelled.", "ABORTED"));
  });
  xhr.open("POST", `/api/uploads/lora?${query.toString()}`);
  if (token) xhr.setRequestHeader("Authorization", `Bearer ${token}`);
  xhr.setRequestHeader("Content-Type", "application/octet-stream");
  xhr.send(file);
  return { done, abort: () => xhr.abort() };
}
