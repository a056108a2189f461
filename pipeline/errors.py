"""One error hierarchy. Every error has a stable `code`, says whether a retry can help, and carries a message for
the patient that says how to fix the problem. Messages never contain document content (PHI)."""

from __future__ import annotations


class DocverifyError(Exception):
    """Base of every docverify error."""

    code: str = "internal_error"
    retryable: bool = False
    user_message: str = "Something went wrong on our side. Please try again later."

    def __init__(self, detail: str | None = None) -> None:
        # `detail` is for operators: ids, sizes and limits only, never document text.
        self.detail = detail
        super().__init__(f"{self.code}: {detail}" if detail else self.code)


class RejectedUpload(DocverifyError):
    """The upload cannot be read; the patient must send something else. Never retried."""


class EmptyFile(RejectedUpload):
    code = "empty_file"
    user_message = "The file is empty. Please upload the document again."


class UnsupportedType(RejectedUpload):
    code = "unsupported_type"
    user_message = ("This file type is not accepted. Please upload a PDF or a picture (PNG, JPEG, TIFF, HEIC or "
                    "WEBP) of your medical record, or the health-summary file (C-CDA XML or zip) from your patient "
                    "portal.")


class FileTooLarge(RejectedUpload):
    code = "file_too_large"
    user_message = "The file is larger than 20 MB. Please upload a smaller copy (for example a PDF of fewer pages)."


class UnreadableFile(RejectedUpload):
    code = "unreadable_file"
    user_message = "The file is damaged or incomplete and cannot be opened. Please upload it again."


class UnsafeXml(RejectedUpload):
    code = "unsafe_xml"
    user_message = ("The XML file contains a document type declaration or entities, which we do not accept. Please "
                    "download the health summary from your portal again and upload it unchanged.")


class PdfEncrypted(RejectedUpload):
    code = "pdf_encrypted"
    user_message = "The PDF is password-protected. Please remove the password and upload it again."


class TooManyPages(RejectedUpload):
    code = "too_many_pages"
    user_message = "The document has too many pages. Please upload only the pages that show your diagnosis."


class TooMuchText(RejectedUpload):
    code = "too_much_text"
    user_message = "The document holds too much text to check. Please upload only the pages that show your diagnosis."


class ImageTooLarge(RejectedUpload):
    code = "image_too_large"
    user_message = "The picture is too large to read. Please upload a smaller picture or a screenshot."


class TooManyFrames(RejectedUpload):
    code = "too_many_frames"
    user_message = "The TIFF file has too many pages. Please upload only the pages that show your diagnosis."


class NoReadableText(RejectedUpload):
    code = "no_readable_text"
    user_message = ("No text could be read from this document. Please upload a clearer copy: a PDF from your "
                    "portal, or a sharp, well-lit photo of the whole page.")


class ProcessingError(DocverifyError):
    """Our side failed while reading; may be transient."""


class OcrTimeout(ProcessingError):
    # Not retryable: the same page times out again, and each try would cost a whole time budget (one hostile page
    # costs at most one budget: docs/THREAT-MODEL.md "Input caps").
    code = "ocr_timeout"
    retryable = False
    user_message = ("Reading this document took too long. Please upload a clearer or shorter copy, for example only "
                    "the pages that show your diagnosis.")


class OcrEngineError(ProcessingError):
    code = "ocr_engine_error"
    retryable = True
    user_message = "The text reader failed. We will try again; no action is needed."


class ConfigError(DocverifyError):
    """A rule, lexicon or policy file is invalid: an operator must fix it."""

    code = "config_error"
    user_message = "docverify is misconfigured. Please contact the clinic."
