"""The lengths that stored text may have, in one place (documented in docs/operations.md).

A value longer than its limit is refused where it enters (a form, the API, a file), never cut.
"""

NAME_MAX = 200  # a user, unit, actor, source or subtype name
TEXT_MAX = 20_000  # a narrative, a rationale, a reason (as NARRATIVE_MAX of the log entries)
USER_NAME_MAX = 64  # an account's name
PASSWORD_MAX = 256  # a password (more is refused before any hashing)
ATTACHMENT_MAX = 8 * 1024 * 1024  # one file attached to a complaint
ATTACHMENTS_MAX = 10  # files attached to one complaint
ATTACHMENTS_TOTAL_MAX = 32 * 1024 * 1024  # all the files of one complaint
