# ruff: noqa: RUF001 - Chinese text, with its full-width punctuation
"""The options' descriptions in Chinese (zh-Hans), keyed by path: docs/configuration.zh.md.

The twin of the docstrings of :mod:`.model` (and of ``PrintOptions``), which say it in English;
``make generate`` reads both, the bridge never does. A key of the schema without its entry here
stops ``make generate`` and fails tests/test_config_reference.py, as does an entry for a key the
schema no longer has. Write for a Chinese owner of a Pi and a 链科云盒, in the words of Lianke's
own console and reference (云盒, 二维码, ApiKey, 打印机, 轮询…), in Markdown (`code`).
"""

from __future__ import annotations

from collections.abc import Mapping

SECTIONS: Mapping[str, str] = {
    "lianke": "链科开放平台的开发者账号，以及桥接程序如何有节制地调用链科云。",
    "devices[]": (
        "一台链科云盒：`devices` 下至少要有一台。\n\n"
        "每台云盒都要填写其二维码中的凭据，二选一：`device_id` + `device_key`，或 `qr`。"
    ),
    "devices[].poll": (
        "每台云盒各项查询的轮询间隔，单位为秒（也可以写 `90s`、`5m`…）。\n\n"
        "链科会封禁请求过于频繁的 ApiKey 和 IP，所以每一项都有下限。"
        "当所有云盒需要的调用次数超过 `lianke.rate_limit` 的允许时，"
        "桥接程序会拉长轮询间隔并在日志中说明（`check-config` 会算出每小时的调用次数）。"
    ),
    "devices[].print_defaults.<port>": (
        "打印选项：即 MQTT `print` 命令的选项，也用作各端口的 `print_defaults`。\n\n"
        "请求中给出的选项优先于端口的默认值；两者都没有给出的选项，由打印机按自身的默认设置处理。"
    ),
    "mqtt": "MQTT 服务器，以及桥接程序所发布的全部主题的根。",
    "mqtt.tls": (
        "与 MQTT 服务器之间的 TLS：`tls: true` 使用系统自带的 CA 证书，或者在下面给出证书文件。\n\n"
        "文件必须存在（普通文件，不超过 4 MiB）；相对路径以配置文件所在的文件夹为准。"
    ),
    "homeassistant": "MQTT 自动发现：Home Assistant 会自己找到桥接程序、云盒和打印机。",
    "jobs": "打印任务：一个请求可以携带什么，以及如何跟踪每个任务直到结束。",
    "logging": "桥接程序记录哪些日志，以及日志的格式。",
    "http": (
        "可选的 HTTP 端点：`/healthz` 提供健康状态，`/metrics` 提供 Prometheus 指标；"
        "`lianke.callback_url` 以 `{token}` 结尾时，还接收链科云的推送。"
    ),
}
"""A section's opening words (the class docstrings of the model)."""

_PRINT = "devices[].print_defaults.<port>"

OPTIONS: Mapping[str, str] = {
    # ---- lianke
    "lianke.api_key": (
        "链科开放平台的开发者 ApiKey（云盒也绑定在这个账号下）；每次调用链科云都要带上它。"
    ),
    "lianke.base_url": (
        "链科云 API 的地址（`http://` 或 `https://`）。连接真实的云盒时不要填写；"
        "模拟器的地址是 `http://127.0.0.1:8080`。"
    ),
    "lianke.timeout": (
        "单次 API 调用最多等待的秒数。`printer_status` 要实时询问打印机，比较慢，"
        "它的超时是这个值的两倍。"
    ),
    "lianke.rate_limit": (
        "整个桥接程序每秒调用链科云的最多次数。轮询最多占用其中的 80%；命令的调用排在轮询之前。"
    ),
    "lianke.max_retries": (
        "安全的调用（只读查询，或被云端以 10009“请求过于频繁”拒绝的调用）最多重试几次，"
        "每次重试前等待的时间逐渐加长。"
    ),
    "lianke.refusal_retry": (
        "云端拒绝 ApiKey（或某台云盒的 deviceKey）之后，桥接程序等待多久再试这个密钥，"
        "期间不会用它发送任何请求。发送 SIGHUP 可以立即重试。"
    ),
    "lianke.status_spacing": (
        "同一台打印机两次 `printer_status` 之间至少间隔的秒数：过早再次查询云盒的同一端口，"
        "云端会返回 10009“请求过于频繁”，所以紧接在轮询之后的 `refresh` 会先等一等。"
    ),
    "lianke.callback_url": (
        "链科云在任务结束时推送（POST）任务结果的公网 `https://` 地址（即回调地址 callbackUrl），"
        "随每个打印任务一起发送：任务结束后一秒内就能看到结果，打印任务也只需每隔 "
        "`jobs.push_poll_interval` 查询一次。以 `{token}` 结尾时"
        "（`https://print.example.com/lianke/{token}`），它是反向代理后面桥接程序自己的 HTTP 端点"
        "（需开启 `http:`），桥接程序会把自己的密钥令牌放在那里；不以 `{token}` 结尾时，"
        "推送原样发往该地址：例如 Home Assistant 的 webhook，再由它转发到 "
        "`<base>/bridge/callback`（蓝图 `lianke_bridge/cloud_push_relay.yaml`）。"
        "请保密：知道这个地址的人都能向桥接程序发送推送。"
    ),
    # ---- devices
    "devices[].name": (
        "云盒在 MQTT 主题（`lianke/<名称>/…`）和 Home Assistant 中的名称：只能用小写字母、数字、"
        "`_` 和 `-`，不能重复，`bridge` 是保留名称。留空则使用小写的云盒编号（deviceId）。"
    ),
    "devices[].device_id": (
        "云盒编号（deviceId，也叫云账号），包含在云盒的二维码中：`lianke-bridge decode-qr 链接` "
        "可以把它显示出来。"
    ),
    "devices[].device_key": "云盒密钥（deviceKey，也叫云密码），即二维码 token 中的另一半。",
    "devices[].qr": (
        "云盒二维码中的链接（`https://…?token=…`）或其中的 token，可以代替 "
        "`device_id` + `device_key`。它包含云盒密钥，请妥善保密。"
    ),
    "devices[].poll": "这台云盒各项查询的轮询间隔（秒），见下文。",
    "devices[].poll.device_info": "云盒是否在线、固件版本和套餐（`device_info`）。",
    "devices[].poll.printer_list": "云盒上连接的打印机（`printer_list`）。",
    "devices[].poll.printer_status": (
        "能上报状态的打印机的实时状态：缺纸、卡纸、墨水…（`printer_status`）。"
    ),
    "devices[].poll.tasks": (
        "云盒当天的任务，用于任务队列（`query_device_task`）；云盒上没有桥接程序的任务在进行时，"
        "查询频率降为五分之一。"
    ),
    "devices[].default_port": "没有指定 `port` 的打印请求发往哪个端口（云盒上的 USB 接口）。",
    "devices[].printer_type": (
        "云盒列出哪些打印机：`1` USB 打印机，`2` 网络打印机，`3` 两者都列出。"
    ),
    "devices[].print_defaults": (
        "按端口号设置的打印选项：请求中没有给出的选项使用这里的值（见下文）。"
    ),
    f"{_PRINT}.copies": "打印份数。",
    f"{_PRINT}.paper": (
        "纸张：打印机列出的纸张名称（`A4`、`Letter`…）或 API 的纸张编号（`9` 即 A4），"
        "也可以是自定义尺寸 `{width_mm: 100, height_mm: 150}` 或 `100x150 mm`。"
    ),
    f"{_PRINT}.color": "黑白或彩色。",
    f"{_PRINT}.duplex": (
        '单面，或双面：沿长边翻转或沿短边翻转。在 YAML 中请给 `"off"` 加上引号'
        "（不加引号的 off 会被读成 false，也能识别）。"
    ),
    f"{_PRINT}.orientation": "纵向或横向。",
    f"{_PRINT}.scale": (
        "页面如何放到纸上：整页缩放到纸内（`fit`）、占满宽度（`fitw`）或高度（`fith`）、"
        "拉伸铺满（`fill`）、裁剪铺满（`cover`）、保持原始大小（`none`），或者百分比，如 `80%`。"
    ),
    f"{_PRINT}.align": "页面比纸张小时，放在纸上的什么位置（也可以用 API 的 `z1` 到 `z9`）。",
    f"{_PRINT}.pages": (
        "打印哪些页：页码范围，如 `1,3,5-10`（页码最大 9999，最多 100 项），"
        "或者所有奇数页 `odd`、所有偶数页 `even`。"
    ),
    f"{_PRINT}.reverse": "从最后一页开始打印。",
    f"{_PRINT}.auto_rotate": "自动旋转页面以适应纸张。",
    f"{_PRINT}.file_ext": (
        "链接地址的结尾不是受支持的文件类型（`.pdf`、`.docx`、`.png`…）时，用它说明文档类型"
        "（如 `.pdf`）；不说明的话，这样的链接会被拒绝。"
    ),
    f"{_PRINT}.options": "原样传给 API 的表单字段（如 `{dmMediaType: 1}`），优先于上面的选项。",
    # ---- mqtt
    "mqtt.host": "MQTT 服务器的主机名或 IP 地址，不要加 `mqtt://`，也不要加端口。",
    "mqtt.port": "MQTT 服务器的端口；留空为 1883，启用 `tls` 时为 8883。",
    "mqtt.username": "MQTT 服务器的用户名；留空则匿名连接。",
    "mqtt.password": "该用户的密码；需要同时填写 `username`。",
    "mqtt.client_id": (
        "MQTT 客户端 ID：在服务器上唯一，并且每次启动都相同，服务器按它为桥接程序保留会话。"
        "留空为 `lianke-bridge`；`base_topic` 不是默认值时为 `lianke-bridge-<base_topic>`。"
    ),
    "mqtt.keepalive": (
        "没有其他消息可发时，发送心跳的间隔秒数；客户端沉默超过这个值的 1.5 倍，服务器就会断开它。"
    ),
    "mqtt.session_expiry": (
        "桥接程序离开期间，服务器为它保留会话的时长：包括订阅，以及期间发来的 QoS 1 请求，"
        "桥接程序回来后会执行这些请求。`0` 表示每次都重新开始（期间的请求会丢失）；"
        "MQTT 3.1.1 没有会话过期时间。"
    ),
    "mqtt.protocol": "MQTT 协议版本：`5`；较旧的服务器用 `3.1.1`（也可以写 `311`）。",
    "mqtt.base_topic": (
        "桥接程序所发布的全部主题的根（`lianke/<云盒>/…`）：不能含 `+` 或 `#`，首尾不能是 `/`，"
        "不能有空的层级，也不能以 `$` 开头（这类主题归服务器自己使用）。"
    ),
    "mqtt.tls": (
        "`true` 表示使用 TLS，并用系统自带的 CA 证书校验服务器；也可以是下面这些文件的映射。"
        "留空或 `false` 则使用普通 TCP。"
    ),
    "mqtt.tls.ca_certs": "签发服务器证书的 CA 证书；留空则使用系统自带的 CA 证书。",
    "mqtt.tls.certfile": "客户端证书，用于要求客户端证书的服务器；需要同时填写 `keyfile`。",
    "mqtt.tls.keyfile": "客户端证书的私钥；需要同时填写 `certfile`。",
    "mqtt.tls.insecure": "`true` 表示不校验服务器的证书和主机名：仅用于测试。",
    "mqtt.receive_maximum": (
        "MQTT 5：桥接程序应答（也就是确认）第一个请求之前，服务器最多可以发来多少个请求；"
        "其余的请求在服务器中排队。它为桥接程序的内存占用设了上限。"
    ),
    "mqtt.max_packet_size": (
        "MQTT 5：服务器可以发给桥接程序的最大消息；更大的消息会被服务器丢弃，得不到应答。"
        "留空则为最大的打印请求再加 1 MiB（`jobs.max_file_bytes` 为默认值时是 28 MiB），"
        "且不能小于这个请求。MQTT 3.1.1 无法告诉服务器这个限制：请改为设置服务器的 "
        "`message_size_limit`。"
    ),
    # ---- homeassistant
    "homeassistant.enabled": "为桥接程序、云盒和打印机发布 Home Assistant 自动发现消息。",
    "homeassistant.prefix": (
        "Home Assistant 的自动发现前缀（在其 MQTT 集成中设置），规则同 `mqtt.base_topic`。"
    ),
    "homeassistant.discovery": (
        "`device`：每台云盒一条自动发现消息（Home Assistant 2024.12 及以后）；"
        "`entity`：每个实体一条，适用于更早的版本。"
    ),
    "homeassistant.status_topic": (
        "Home Assistant 启动后在这个主题上宣布 `online`，桥接程序随即重新发送自动发现消息和状态。"
        "不能是 `$` 开头的主题。"
    ),
    "homeassistant.language": (
        "Home Assistant 中设备和实体名称的语言：`en`（英文）或 `zh-Hans`"
        "（简体中文：缺纸、清空队列、队列……）。两种语言下实体 ID 相同，切换后自动化照常工作。"
    ),
    # ---- jobs
    "jobs.poll_interval": "查询进行中的打印任务状态的间隔秒数；链科的接口文档建议 10 秒。",
    "jobs.push_poll_interval": (
        "链科云的推送正常到达时（已设置 `lianke.callback_url`），查询进行中的打印任务状态的"
        "间隔秒数：任务何时结束由推送告知，这里的查询只是后备。"
        "如果某个任务结束时没有收到推送，之后改为每隔 `poll_interval` 查询一次，"
        "直到再次收到推送。"
    ),
    "jobs.retention": "任务结束后，它的保留（retained）主题留多久，再由桥接程序清除。",
    "jobs.max_file_bytes": (
        "一个打印请求可以携带的最大文档（MB 即 MiB）。请求本身可以比它大三分之一"
        "（base64 编码）再加 64 KiB。"
    ),
    "jobs.allowed_hosts": (
        "打印和查询页数的链接可以指向的主机；一个域名也包括它下面的域名（`example.com` 包括 "
        "`docs.example.com`），指向其他主机的链接在发往链科云之前就会被拒绝。留空表示任何主机。"
        "中文等国际化域名按其 `xn--` 形式比较。"
        "各种解析器可能理解不一致的链接（含反斜杠、`user@`、主机中含 `%`，或 `127.1` 这样的地址）"
        "无论这里怎么写都会被拒绝。"
    ),
    # ---- logging
    "logging.level": "记录的最低日志级别，不区分大小写；命令行上的 `--log-level` 优先。",
    "logging.format": "`text`，或 `json`：每行一个 JSON 对象，方便日志收集工具处理。",
    # ---- http
    "http.enabled": (
        "提供 `/healthz` 和 `/metrics`。关闭时，桥接程序根本不会加载 HTTP 服务器和 "
        "prometheus_client（约省 3.5 MiB 内存）。"
    ),
    "http.host": (
        "监听的地址：默认只监听本机（loopback）；要让其他机器或 Docker 容器外部访问，"
        "请填 `0.0.0.0`（并映射端口）。"
    ),
    "http.port": (
        "TCP 端口（`0`：任选一个空闲端口，并写在日志里）。端口已被占用时会记录一条错误日志，"
        "桥接程序照常运行，只是没有这个端点。"
    ),
    "http.callback_path": (
        "当 `lianke.callback_url` 以 `{token}` 结尾时，桥接程序接收链科云推送的路径"
        "（令牌之前的部分，`/lianke` 即在 `/lianke/<令牌>` 上接收）。"
        "留空则使用 `lianke.callback_url` 中的路径；"
        "如果反向代理在转发时改写了路径，请在这里填写桥接程序实际收到的路径。"
    ),
    # ---- the rest
    "state_dir": (
        "桥接程序保存状态的文件夹：它发布过的内容、正在跟踪的任务、已应答的请求"
        "（保留 10 分钟，用于识别重复请求）以及正在发往链科云的打印，重启或断电后都不会丢失，"
        "全部存放在一个 SQLite 文件中。文件夹不存在时会自动创建，并且只有桥接程序能访问（0700）。"
    ),
    "shard": (
        "`INDEX/COUNT`：本实例只轮询和应答设备编号哈希到 `INDEX` 的云盒；`auto/COUNT` 从主机名"
        "末尾的 `-<数字>` 取得 INDEX（StatefulSet 中的 `lianke-bridge-2` 即为 2）。"
        "`run --shard I/N` 优先。"
    ),
}
"""One key's description (the field docstrings of the model)."""
