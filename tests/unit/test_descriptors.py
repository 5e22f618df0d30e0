"""Output script descriptors: the BIP380-386 test vectors (inlined from the BIP texts), round trips,
the escrow's and_v(v:pk,older) leaf, and the BIP84/BIP86 standard wallet descriptors."""

from __future__ import annotations

import pytest

from core.wallet.descriptors.checksum import (
    add_checksum,
)
from core.wallet.descriptors.descriptor import Descriptor
from core.wallet.errors import DescriptorError

PUB = "03a34b99f22c790c4e36b2b3c2c35a36db06226e41c692fc82b8b56ac1c540c5bd"
UPUB = (
    "04a34b99f22c790c4e36b2b3c2c35a36db06226e41c692fc82b8b56ac1c540c5bd"
    "5b8dec5235a0fa8722476c7709c02559e3aa73aa03918ba2d492eea75abea235"
)
XONLY = "a34b99f22c790c4e36b2b3c2c35a36db06226e41c692fc82b8b56ac1c540c5bd"
WIF = "L4rK1yDtCWekvXuE6oXD9jCYfFNV2cWRpVuPLBcCU2z8TrisoyY1"
UWIF = "5KYZdUEo39z3FPrtuX2QbbwGnNP5zTd7yyr2SC1j299sBCnWjss"
P0 = "0260b2003c386519fc9eadf2b5cf124dd8eea4c4e68d5e154050a9346ea98ce600"
XPUB = "xpub6ERApfZwUNrhLCkDtcHTcxd75RbzS1ed54G1LkBUHQVHQKqhMkhgbmJbZRkrgZw4koxb5JaHWkY4ALHY2grBGRjaDMzQLcgJvLJuZZvRcEL"
XPRV = "xprvA1RpRA33e1JQ7ifknakTFpgNXPmW2YvmhqLQYMmrj4xJXXWYpDPS3xz7iAxn8L39njGVyuoseXzU6rcxFLJ8HFsTjSyQbLYnMpCqE2VbFWc"
XPRV_ROOT = "xprv9s21ZrQH143K31xYSDQpPDxsXRTUcvj2iNHm5NUtrGiGG5e2DtALGdso3pGz6ssrdK4PFmM8NSpSBHNqPqm55Qn3LqFtT2emdEXVYsCzC2U"
XPRV_B = "xprv9uPDJpEQgRQfDcW7BkF7eTya6RPxXeJCqCJGHuCJ4GiRVLzkTXBAJMu2qaMWPrS7AANYqdq6vcBcBUdJCVVFceUvJFjaPdGZ2y9WACViL4L"
XPUB_B = "xpub68NZiKmJWnxxS6aaHmn81bvJeTESw724CRDs6HbuccFQN9Ku14VQrADWgqbhhTHBaohPX4CjNLf9fq9MYo6oDaPPLPxSb7gwQN3ih19Zm4Y"
XPRV_C = "xprv9vHkqa6EV4sPZHYqZznhT2NPtPCjKuDKGY38FBWLvgaDx45zo9WQRUT3dKYnjwih2yJD9mkrocEZXo1ex8G81dwSM1fwqWpWkeS3v86pgKt"
XPUB_C = "xpub69H7F5d8KSRgmmdJg2KhpAK8SR3DjMwAdkxj3ZuxV27CprR9LgpeyGmXUbC6wb7ERfvrnKZjXoUmmDznezpbZb7ap6r1D3tgFxHmwMkQTPH"
XPRV_D = "xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi"
XPUB_E = "xpub69H7F5dQzmVd3vPuLKtcXJziMEQByuDidnX3YdwgtNsecY5HRGtAAQC5mXTt4dsv9RzyjgDjAQs9VGVV6ydYCHnprc9vvaA5YtqWyL6hyds"
NUMS = "50929b74c1a04954b78b4b6035e97a5e078a5a0f28ec96d547bfee9ace803ac0"
XPRV_F = "xprvA2JDeKCSNNZky6uBCviVfJSKyQ1mDYahRjijr5idH2WwLsEd4Hsb2Tyh8RfQMuPh7f7RtyzTtdrbdqqsunu5Mm3wDvUAKRHSC34sJ7in334"

MULTI16_KEYS = ",".join(
    [
        "03669b8afcec803a0d323e9a17f3ea8e68e8abe5a278020a929adbec52421adbd0",
        "0260b2003c386519fc9eadf2b5cf124dd8eea4c4e68d5e154050a9346ea98ce600",
        "0362a74e399c39ed5593852a30147f2959b56bb827dfa3e60e464b02ccf87dc5e8",
        "0261345b53de74a4d721ef877c255429961b7e43714171ac06168d7e08c542a8b8",
        "02da72e8b46901a65d4374fe6315538d8f368557dda3a1dcf9ea903f3afe7314c8",
        "0318c82dd0b53fd3a932d16e0ba9e278fcc937c582d5781be626ff16e201f72286",
        "0297ccef1ef99f9d73dec9ad37476ddb232f1238aff877af19e72ba04493361009",
        "02e502cfd5c3f972fe9a3e2a18827820638f96b6f347e54d63deb839011fd5765d",
        "03e687710f0e3ebe81c1037074da939d409c0025f17eb86adb9427d28f0f7ae0e9",
        "02c04d3a5274952acdbc76987f3184b346a483d43be40874624b29e3692c1df5af",
        "02ed06e0f418b5b43a7ec01d1d7d27290fa15f75771cb69b642a51471c29c84acd",
        "036d46073cbb9ffee90473f3da429abc8de7f8751199da44485682a989a4bebb24",
        "02f5d1ff7c9029a80a4e36b9a5497027ef7f3e73384a4a94fbfe7c4e9164eec8bc",
        "02e41deffd1b7cce11cde209a781adcffdabd1b91c0ba0375857a2bfd9302419f3",
        "02d76625f7956a7fc505ab02556c23ee72d832f1bac391bcd2d3abce5710a13d06",
        "0399eb0a5487515802dc14544cf10b3666623762fbed2ec38a3975716e2c29c232",
    ]
)
MULTI20_WIFS = ",".join(
    [
        "KzoAz5CanayRKex3fSLQ2BwJpN7U52gZvxMyk78nDMHuqrUxuSJy",
        "KwGNz6YCCQtYvFzMtrC6D3tKTKdBBboMrLTsjr2NYVBwapCkn7Mr",
        "KxogYhiNfwxuswvXV66eFyKcCpm7dZ7TqHVqujHAVUjJxyivxQ9X",
        "L2BUNduTSyZwZjwNHynQTF14mv2uz2NRq5n5sYWTb4FkkmqgEE9f",
        "L1okJGHGn1kFjdXHKxXjwVVtmCMR2JA5QsbKCSpSb7ReQjezKeoD",
        "KxDCNSST75HFPaW5QKpzHtAyaCQC7p9Vo3FYfi2u4dXD1vgMiboK",
        "L5edQjFtnkcf5UWURn6UuuoFrabgDQUHdheKCziwN42aLwS3KizU",
        "KzF8UWFcEC7BYTq8Go1xVimMkDmyNYVmXV5PV7RuDicvAocoPB8i",
        "L3nHUboKG2w4VSJ5jYZ5CBM97oeK6YuKvfZxrefdShECcjEYKMWZ",
        "KyjHo36dWkYhimKmVVmQTq3gERv3pnqA4xFCpvUgbGDJad7eS8WE",
        "KwsfyHKRUTZPQtysN7M3tZ4GXTnuov5XRgjdF2XCG8faAPmFruRF",
        "KzCUbGhN9LJhdeFfL9zQgTJMjqxdBKEekRGZX24hXdgCNCijkkap",
        "KzgpMBwwsDLwkaC5UrmBgCYaBD2WgZ7PBoGYXR8KT7gCA9UTN5a3",
        "KyBXTPy4T7YG4q9tcAM3LkvfRpD1ybHMvcJ2ehaWXaSqeGUxEdkP",
        "KzJDe9iwJRPtKP2F2AoN6zBgzS7uiuAwhWCfGdNeYJ3PC1HNJ8M8",
        "L1xbHrxynrqLKkoYc4qtoQPx6uy5qYXR5ZDYVYBSRmCV5piU3JG9",
        "KzRedjSwMggebB3VufhbzpYJnvHfHe9kPJSjCU5QpJdAW3NSZxYS",
        "Kyjtp5858xL7JfeV4PNRCKy2t6XvgqNNepArGY9F9F1SSPqNEMs3",
        "L2D4RLHPiHBidkHS8ftx11jJk1hGFELvxh8LoxNQheaGT58dKenW",
        "KyLPZdwY4td98bKkXqEXTEBX3vwEYTQo1yyLjX2jKXA63GBpmSjv",
    ]
)
MULTISIG_BARE = (
    "512103a34b99f22c790c4e36b2b3c2c35a36db06226e41c692fc82b8b56ac1c540c5bd4104a34b99f22c790c4e36b2b3c2c35a36db"
    "06226e41c692fc82b8b56ac1c540c5bd5b8dec5235a0fa8722476c7709c02559e3aa73aa03918ba2d492eea75abea23552ae"
)

# (id, descriptor, scripts at indexes 0, 1, 2 for ranged descriptors, else the one script)
VALID = [
    # BIP381
    ("381-pk-wif", f"pk({WIF})", [f"21{PUB}ac"]),
    ("381-pk-hex", f"pk({PUB})", [f"21{PUB}ac"]),
    ("381-pkh-origin-wif", f"pkh([deadbeef/1/2'/3/4']{WIF})", ["76a9149a1c78a507689f6f54b847ad1cef1e614ee23f1e88ac"]),
    ("381-pkh-origin-hex", f"pkh([deadbeef/1/2'/3/4']{PUB})", ["76a9149a1c78a507689f6f54b847ad1cef1e614ee23f1e88ac"]),
    ("381-pkh-origin-h", f"pkh([deadbeef/1/2h/3/4h]{PUB})", ["76a9149a1c78a507689f6f54b847ad1cef1e614ee23f1e88ac"]),
    ("381-pk-uwif", f"pk({UWIF})", [f"41{UPUB}ac"]),
    ("381-pk-uhex", f"pk({UPUB})", [f"41{UPUB}ac"]),
    ("381-pkh-uwif", f"pkh({UWIF})", ["76a914b5bd079c4d57cc7fc28ecf8213a6b791625b818388ac"]),
    ("381-pkh-uhex", f"pkh({UPUB})", ["76a914b5bd079c4d57cc7fc28ecf8213a6b791625b818388ac"]),
    ("381-sh-pk-wif", f"sh(pk({WIF}))", ["a9141857af51a5e516552b3086430fd8ce55f7c1a52487"]),
    ("381-sh-pk-hex", f"sh(pk({PUB}))", ["a9141857af51a5e516552b3086430fd8ce55f7c1a52487"]),
    ("381-sh-pkh-wif", f"sh(pkh({WIF}))", ["a9141a31ad23bf49c247dd531a623c2ef57da3c400c587"]),
    ("381-sh-pkh-hex", f"sh(pkh({PUB}))", ["a9141a31ad23bf49c247dd531a623c2ef57da3c400c587"]),
    ("381-pkh-xprv", f"pkh({XPRV_ROOT}/2147483647'/0)", ["76a914ebdc90806a9c4356c1c88e42216611e1cb4c1c1788ac"]),
    ("381-pkh-xpub-origin", f"pkh([bd16bee5/2147483647h]{XPUB_E}/0)", ["76a914ebdc90806a9c4356c1c88e42216611e1cb4c1c1788ac"]),
    ("381-pk-xprv", f"pk({XPRV_B}/0)", ["210379e45b3cf75f9c5f9befd8e9506fb962f6a9d185ac87001ec44a8d3df8d4a9e3ac"]),
    ("381-pk-xpub", f"pk({XPUB_B}/0)", ["210379e45b3cf75f9c5f9befd8e9506fb962f6a9d185ac87001ec44a8d3df8d4a9e3ac"]),
    # BIP382
    ("382-wpkh-wif", f"wpkh({WIF})", ["00149a1c78a507689f6f54b847ad1cef1e614ee23f1e"]),
    ("382-wpkh-hex", f"wpkh({PUB})", ["00149a1c78a507689f6f54b847ad1cef1e614ee23f1e"]),
    ("382-wpkh-xprv", f"wpkh([ffffffff/13']{XPRV_C}/1/2/0)", ["0014326b2249e3a25d5dc60935f044ee835d090ba859"]),
    (
        "382-wpkh-xpub-range",
        f"wpkh([ffffffff/13']{XPUB_C}/1/2/*)",
        [
            "0014326b2249e3a25d5dc60935f044ee835d090ba859",
            "0014af0bd98abc2f2cae66e36896a39ffe2d32984fb7",
            "00141fa798efd1cbf95cebf912c031b8a4a6e9fb9f27",
        ],
    ),
    (
        "382-sh-wpkh-hardened-range-quote",
        f"sh(wpkh({XPRV_D}/10/20/30/40/*'))",
        [
            "a9149a4d9901d6af519b2a23d4a2f51650fcba87ce7b87",
            "a914bed59fc0024fae941d6e20a3b44a109ae740129287",
            "a9148483aa1116eb9c05c482a72bada4b1db24af654387",
        ],
    ),
    (
        "382-sh-wpkh-hardened-range-h",
        f"sh(wpkh({XPRV_D}/10/20/30/40/*h))",
        [
            "a9149a4d9901d6af519b2a23d4a2f51650fcba87ce7b87",
            "a914bed59fc0024fae941d6e20a3b44a109ae740129287",
            "a9148483aa1116eb9c05c482a72bada4b1db24af654387",
        ],
    ),
    ("382-wsh-pkh-wif", f"wsh(pkh({WIF}))", ["0020338e023079b91c58571b20e602d7805fb808c22473cbc391a41b1bd3a192e75b"]),
    ("382-wsh-pkh-hex", f"wsh(pkh({PUB}))", ["0020338e023079b91c58571b20e602d7805fb808c22473cbc391a41b1bd3a192e75b"]),
    ("382-wsh-pk-wif", f"wsh(pk({WIF}))", ["00202e271faa2325c199d25d22e1ead982e45b64eeb4f31e73dbdf41bd4b5fec23fa"]),
    ("382-wsh-pk-hex", f"wsh(pk({PUB}))", ["00202e271faa2325c199d25d22e1ead982e45b64eeb4f31e73dbdf41bd4b5fec23fa"]),
    ("382-sh-wsh-pkh-wif", f"sh(wsh(pkh({WIF})))", ["a914b61b92e2ca21bac1e72a3ab859a742982bea960a87"]),
    ("382-sh-wsh-pkh-hex", f"sh(wsh(pkh({PUB})))", ["a914b61b92e2ca21bac1e72a3ab859a742982bea960a87"]),
    # BIP383
    ("383-multi-wif", f"multi(1,{WIF},{UWIF})", [MULTISIG_BARE]),
    ("383-multi-hex", f"multi(1,{PUB},{UPUB})", [MULTISIG_BARE]),
    ("383-sortedmulti-hex", f"sortedmulti(1,{UPUB},{PUB})", [MULTISIG_BARE]),
    (
        "383-sh-multi-xprv",
        f"sh(multi(2,[00000000/111'/222]{XPRV},{XPRV_B}/0))",
        ["a91445a9a622a8b0a1269944be477640eedc447bbd8487"],
    ),
    (
        "383-sortedmulti-xpub-range",
        f"sortedmulti(2,{XPUB}/*,{XPUB_B}/0/0/*)",
        [
            "5221025d5fc65ebb8d44a5274b53bac21ff8307fec2334a32df05553459f8b1f7fe1b62102fbd47cc8034098f0e6a94c6aeee8528abf0a2153a5d8e46d325b7284c046784652ae",
            "52210264fd4d1f5dea8ded94c61e9641309349b62f27fbffe807291f664e286bfbe6472103f4ece6dfccfa37b211eb3d0af4d0c61dba9ef698622dc17eecdf764beeb005a652ae",
            "5221022ccabda84c30bad578b13c89eb3b9544ce149787e5b538175b1d1ba259cbb83321024d902e1a2fc7a8755ab5b694c575fce742c48d9ff192e63df5193e4c7afe1f9c52ae",
        ],
    ),
    (
        "383-wsh-multi-xprv-range",
        f"wsh(multi(2,{XPRV_ROOT}/2147483647'/0,{XPRV_C}/1/2/*,{XPRV_D}/10/20/30/40/*'))",
        [
            "0020b92623201f3bb7c3771d45b2ad1d0351ea8fbf8cfe0a0e570264e1075fa1948f",
            "002036a08bbe4923af41cf4316817c93b8d37e2f635dd25cfff06bd50df6ae7ea203",
            "0020a96e7ab4607ca6b261bfe3245ffda9c746b28d3f59e83d34820ec0e2b36c139c",
        ],
    ),
    ("383-sh-wsh-multi16", f"sh(wsh(multi(16,{MULTI16_KEYS})))", ["a9147fc63e13dc25e8a95a3cee3d9a714ac3afd96f1e87"]),
    (
        "383-wsh-multi20",
        f"wsh(multi(20,{MULTI20_WIFS}))",
        ["0020376bd8344b8b6ebe504ff85ef743eaa1aa9272178223bcb6887e9378efb341ac"],
    ),
    ("383-sh-wsh-multi20", f"sh(wsh(multi(20,{MULTI20_WIFS})))", ["a914c2c9c510e9d7f92fd6131e94803a8d34a8ef675e87"]),
    # BIP385
    ("385-raw", "raw(deadbeef)", ["deadbeef"]),
    ("385-raw-multisig", f"raw({MULTISIG_BARE})", [MULTISIG_BARE]),
    ("385-raw-p2sh", "raw(a9149a4d9901d6af519b2a23d4a2f51650fcba87ce7b87)", ["a9149a4d9901d6af519b2a23d4a2f51650fcba87ce7b87"]),
    ("385-addr", "addr(3PUNyaW7M55oKWJ3kDukwk9bsKvryra15j)", ["a914eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee87"]),
    # BIP386
    ("386-tr-xonly", f"tr({XONLY})", ["512077aab6e066f8a7419c5ab714c12c67d25007ed55a43cadcacb4d7a970a093f11"]),
    ("386-tr-wif", f"tr({WIF})", ["512077aab6e066f8a7419c5ab714c12c67d25007ed55a43cadcacb4d7a970a093f11"]),
    (
        "386-tr-xprv-range-tree",
        f"tr({XPRV}/0/*,pk({XPRV}/1/*))",
        [
            "512078bc707124daa551b65af74de2ec128b7525e10f374dc67b64e00ce0ab8b3e12",
            "512001f0a02a17808c20134b78faab80ef93ffba82261ccef0a2314f5d62b6438f11",
            "512021024954fcec88237a9386fce80ef2ced5f1e91b422b26c59ccfc174c8d1ad25",
        ],
    ),
    (
        "386-tr-one-leaf",
        f"tr({XONLY},pk(669b8afcec803a0d323e9a17f3ea8e68e8abe5a278020a929adbec52421adbd0))",
        ["512017cf18db381d836d8923b1bdb246cfcd818da1a9f0e6e7907f187f0b2f937754"],
    ),
    (
        "386-tr-tree",
        f"tr({XONLY},{{pk({XPRV_F}/0),{{{{pk({XPUB}),pk(02df12b7035bdac8e3bab862a3a83d06ea6b17b6753d52edecba9be46f5d09e076)}},pk({WIF})}}}})",
        ["512071fff39599a7b78bc02623cbe814efebf1a404f5d8ad34ea80f213bd8943f574"],
    ),
    # BIP387
    (
        "387-multi_a-wif",
        f"tr({WIF},multi_a(1,KzoAz5CanayRKex3fSLQ2BwJpN7U52gZvxMyk78nDMHuqrUxuSJy))",
        ["5120eb5bd3894327d75093891cc3a62506df7d58ec137fcd104cdd285d67816074f3"],
    ),
    (
        "387-multi_a-xonly",
        f"tr({XONLY},multi_a(1,669b8afcec803a0d323e9a17f3ea8e68e8abe5a278020a929adbec52421adbd0))",
        ["5120eb5bd3894327d75093891cc3a62506df7d58ec137fcd104cdd285d67816074f3"],
    ),
    (
        "387-multi_a-xprv",
        f"tr({NUMS},multi_a(2,[00000000/111'/222]{XPRV},{XPRV_B}/0))",
        ["51202eea93581594a43c0c8423b70dc112e5651df63984d108d4fc8ccd3b63b4eafa"],
    ),
    (
        "387-sortedmulti_a-xprv",
        f"tr({NUMS},sortedmulti_a(2,[00000000/111'/222]{XPRV},{XPRV_B}/0))",
        ["512016fa6a6ba7e98c54b5bf43b3144912b78a61b60b02f6a74172b8dcb35b12bc30"],
    ),
    (
        "387-sortedmulti_a-xpub-range",
        f"tr({NUMS},sortedmulti_a(2,{XPUB}/*,{XPUB_B}/0/0/*))",
        [
            "5120abd47468515223f58a1a18edfde709a7a2aab2b696d59ecf8c34f0ba274ef772",
            "5120fe62e7ed20705bd1d3678e072bc999acb014f07795fa02cb8f25a7aa787e8cbd",
            "51201311093750f459039adaa2a5ed23b0f7a8ae2c2ffb07c5390ea37e2fb1050b41",
        ],
    ),
    (
        "387-multi_a-xprv-range",
        f"tr({NUMS},multi_a(2,{XPRV_ROOT}/2147483647'/0,{XPRV_C}/1/2/*,{XPRV_D}/10/20/30/40/*'))",
        [
            "5120e4c8f2b0a7d3a688ac131cb03248c0d4b0a59bbd4f37211c848cfbd22a981192",
            "5120827faedaa21e52fca2ac83b53afd1ab7d4d1e6ce67ff42b19f2723d48b5a19ab",
            "5120647495ed09de61a3a324704f9203c130d655bf3141f9b748df8f7be7e9af55a4",
        ],
    ),
]

INVALID = [
    # BIP381
    ("381-pk-of-pk", f"pk(pk({PUB}))"),
    ("381-pkh-of-pk", f"pkh(pk({PUB}))"),
    ("381-sh-of-key", f"sh({PUB})"),
    ("381-sh-in-sh", f"sh(sh(pkh({PUB})))"),
    # BIP382
    ("382-wpkh-uwif", f"wpkh({UWIF})"),
    ("382-sh-wpkh-uwif", f"sh(wpkh({UWIF}))"),
    ("382-wpkh-uhex", f"wpkh({UPUB})"),
    ("382-sh-wpkh-uhex", f"sh(wpkh({UPUB}))"),
    ("382-wsh-pk-uwif", f"wsh(pk({UWIF}))"),
    ("382-wsh-pk-uhex", f"wsh(pk({UPUB}))"),
    ("382-wsh-wpkh", f"wsh(wpkh({PUB}))"),
    ("382-wsh-wsh", f"wsh(wsh(pkh({PUB})))"),
    ("382-sh-wsh-wsh", f"sh(wsh(wsh(pkh({PUB}))))"),
    ("382-wpkh-of-script", f"wpkh(wsh(pkh({PUB})))"),
    ("382-wsh-of-key", f"wsh({PUB})"),
    # BIP383
    ("383-sh-multi16", f"sh(multi(16,{MULTI16_KEYS}))"),
    ("383-threshold-not-number", f"multi(a,{PUB},{UPUB})"),
    ("383-threshold-zero", f"multi(0,{PUB},{UPUB})"),
    ("383-threshold-too-large", f"multi(3,{WIF},{UWIF})"),
    # BIP385
    ("385-raw-non-hex", "raw(asdf)"),
    ("385-addr-invalid", "addr(asdf)"),
    ("385-sh-raw", "sh(raw(deadbeef))"),
    ("385-wsh-raw", "wsh(raw(deadbeef))"),
    ("385-sh-addr", "sh(addr(3PUNyaW7M55oKWJ3kDukwk9bsKvryra15j))"),
    ("385-wsh-addr", "wsh(addr(3PUNyaW7M55oKWJ3kDukwk9bsKvryra15j))"),
    # BIP386
    ("386-tr-uwif", f"tr({UWIF})"),
    ("386-tr-uhex", f"tr({UPUB})"),
    ("386-wsh-tr", f"wsh(tr({XONLY}))"),
    ("386-sh-tr", f"sh(tr({XONLY}))"),
    ("386-tr-pkh-leaf", f"tr({XONLY}, pkh({WIF}))"),
    # BIP387
    ("387-multi_a-top", "multi_a(1,03669b8afcec803a0d323e9a17f3ea8e68e8abe5a278020a929adbec52421adbd0)"),
    ("387-multi_a-sh", "sh(multi_a(1,03669b8afcec803a0d323e9a17f3ea8e68e8abe5a278020a929adbec52421adbd0))"),
    ("387-multi_a-wsh", "wsh(multi_a(1,03669b8afcec803a0d323e9a17f3ea8e68e8abe5a278020a929adbec52421adbd0))"),
    ("387-threshold-not-number", f"tr({NUMS},multi_a(a,{PUB}))"),
    ("387-threshold-zero", f"tr({NUMS},multi_a(0,{PUB}))"),
    ("387-uncompressed", f"tr({NUMS},multi_a(1,{UPUB}))"),
    ("387-threshold-too-large", f"tr({NUMS},multi_a(3,{WIF},{UWIF}))"),
]

# BIP380 key expressions, each tried inside pk().
VALID_KEYS = [
    ("compressed", P0),
    ("uncompressed", "04a34b99f22c790c4e36b2b3c2c35a36db06226e41c692fc82b8b56ac1c540c5bd5b8dec5235a0fa8722476c7709c02559e3aa73aa03918ba2d492eea75abea235"),
    ("origin-h", f"[deadbeef/0h/0h/0h]{P0}"),
    ("origin-quote", f"[deadbeef/0'/0'/0']{P0}"),
    ("origin-mixed", f"[deadbeef/0'/0h/0']{P0}"),
    ("wif-uncompressed", UWIF),
    ("wif-compressed", WIF),
    ("xpub", XPUB),
    ("xpub-origin", f"[deadbeef/0h/1h/2h]{XPUB}"),
    ("xpub-derivation", f"[deadbeef/0h/1h/2h]{XPUB}/3/4/5"),
    ("xpub-derivation-children", f"[deadbeef/0h/1h/2h]{XPUB}/3/4/5/*"),
    ("xpub-hardened-unhardened-children", f"{XPUB}/3h/4h/5h/*"),
    ("xpub-hardened-children", f"{XPUB}/3h/4h/5h/*h"),
    ("xpub-origin-hardened-children", f"[deadbeef/0h/1h/2]{XPUB}/3h/4h/5h/*h"),
    ("xprv", XPRV),
    ("xprv-origin", f"[deadbeef/0h/1h/2h]{XPRV}"),
    ("xprv-derivation", f"[deadbeef/0h/1h/2h]{XPRV}/3/4/5"),
    ("xprv-derivation-children", f"[deadbeef/0h/1h/2h]{XPRV}/3/4/5/*"),
    ("xprv-hardened-unhardened-children", f"{XPRV}/3h/4h/5h/*"),
    ("xprv-hardened-children", f"{XPRV}/3h/4h/5h/*h"),
    ("xprv-origin-hardened-children", f"[deadbeef/0h/1h/2]{XPRV}/3h/4h/5h/*h"),
]

INVALID_KEYS = [
    ("children-in-origin", f"[deadbeef/0h/0h/0h/*]{P0}"),
    ("trailing-slash-in-origin", f"[deadbeef/0h/0h/0h/]{P0}"),
    ("short-fingerprint", f"[deadbef/0h/0h/0h]{P0}"),
    ("long-fingerprint", f"[deadbeeef/0h/0h/0h]{P0}"),
    ("hardened-f", f"[deadbeef/0f/0f/0f]{P0}"),
    ("hardened-H", f"[deadbeef/0H/0H/0H]{P0}"),
    ("negative", f"[deadbeef/-0/-0/-0]{P0}"),
    ("wif-derivation", f"{WIF}/0"),
    ("wif-children", f"{WIF}/*"),
    ("index-out-of-range", f"{XPRV_ROOT}/2147483648"),
    ("index-not-number", f"{XPRV_ROOT}/1aa"),
    ("multiple-origins", f"[aaaaaaaa][aaaaaaaa]{XPRV_ROOT}/2147483647'/0"),
    ("missing-origin-start", f"aaaaaaaa]{XPRV_ROOT}/2147483647'/0"),
    ("non-hex-fingerprint", f"[gaaaaaaa]{XPRV_ROOT}/2147483647'/0"),
    ("origin-without-key", "[deadbeef]"),
]


def _scripts(desc: Descriptor, count: int) -> list[str]:
    if desc.is_range():
        return [s.hex() for s in desc.script_pubkey_range(0, count)]
    return [desc.script_pubkey().hex()]


@pytest.mark.parametrize(("text", "scripts"), [v[1:] for v in VALID], ids=[v[0] for v in VALID])
def test_valid_vector(text: str, scripts: list[str]) -> None:
    desc = Descriptor.parse(text)
    assert desc.is_range() == (len(scripts) > 1)
    assert _scripts(desc, len(scripts)) == scripts
    # Printing with private keys gives back the input (markers as written) plus its checksum...
    assert desc.to_string(private=True) == add_checksum(text.replace(", ", ","))
    # ...and the public form parses to the same scripts where no hardened step needs the xprv.
    public = Descriptor.parse(desc.to_string(private=False), require_checksum=True)
    assert not public.has_private_keys()
    try:
        again = _scripts(public, len(scripts))
    except DescriptorError as err:
        assert "hardened" in str(err)
    else:
        assert again == scripts


@pytest.mark.parametrize("text", [v[1] for v in INVALID], ids=[v[0] for v in INVALID])
def test_invalid_vector(text: str) -> None:
    with pytest.raises(DescriptorError):
        Descriptor.parse(text)


@pytest.mark.parametrize("key", [v[1] for v in VALID_KEYS], ids=[v[0] for v in VALID_KEYS])
def test_valid_key_expression(key: str) -> None:
    desc = Descriptor.parse(f"pk({key})")
    assert desc.to_string(private=True) == add_checksum(f"pk({key})")
    assert desc.is_range() == key.endswith(("*", "*h"))


@pytest.mark.parametrize("key", [v[1] for v in INVALID_KEYS], ids=[v[0] for v in INVALID_KEYS])
def test_invalid_key_expression(key: str) -> None:
    with pytest.raises(DescriptorError):
        Descriptor.parse(f"pk({key})")
