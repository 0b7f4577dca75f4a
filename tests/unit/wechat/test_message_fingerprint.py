"""A WeChat message's fingerprint: the same for every retry of one message, another for other content."""

from __future__ import annotations

from services.intake.wechat.messages import TextMessage, message_fingerprint


def msg(content: str, create_time: int) -> TextMessage:
    return TextMessage(to_user="gh_rugao12319", from_user="o-citizen", create_time=create_time, msg_type="text",
                       msg_id="6000000000000000001", content=content)


def test_a_retry_with_a_later_create_time_is_the_same_message() -> None:
    assert message_fingerprint(msg("白蒲镇工地晚上打桩", 1_700_000_000)) == \
        message_fingerprint(msg("白蒲镇工地晚上打桩", 1_700_000_009))


def test_other_content_under_the_same_msgid_is_another_message() -> None:
    assert message_fingerprint(msg("白蒲镇工地晚上打桩", 1_700_000_000)) != \
        message_fingerprint(msg("白蒲镇工地白天打桩", 1_700_000_000))
